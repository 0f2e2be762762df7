"""A realistic, messy demo CRM (contacts, companies, employment) with the ground truth behind it.

`generate_demo_crm(DemoConfig(contacts=5000, companies=1000, seed=7))` returns the records per
entity (frames with exactly `spec(entity).fields` columns) and the truth tables: which records are
the same person or company, what each messed-up field should say, who works where and for whom.
"""

from crm_hygiene.demo.config import DemoConfig, DemoCrm
from crm_hygiene.demo.generator import generate_demo_crm, write_truth

__all__ = ["DemoConfig", "DemoCrm", "generate_demo_crm", "write_truth"]
