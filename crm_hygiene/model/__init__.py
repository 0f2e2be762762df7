"""Canonical records (contact, company, employment) and their schemas."""

from crm_hygiene.model.records import (
    COMPANY,
    CONTACT,
    EMPLOYMENT,
    REFERENCES_TO,
    SPECS,
    SYSTEM_FIELDS,
    TIMESTAMP_FIELDS,
    Entity,
    EntitySpec,
    Reference,
    Status,
    spec,
)

__all__ = [
    "COMPANY",
    "CONTACT",
    "EMPLOYMENT",
    "REFERENCES_TO",
    "SPECS",
    "SYSTEM_FIELDS",
    "TIMESTAMP_FIELDS",
    "Entity",
    "EntitySpec",
    "Reference",
    "Status",
    "spec",
]
