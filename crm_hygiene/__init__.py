"""crm-hygiene: keeps a CRM trustworthy without asking reps for data entry."""
