"""The CRM record store as a Dagster resource."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from crm_hygiene.config import Settings
from crm_hygiene.stores import RecordStore, open_store


class CrmStoreResource(dg.ConfigurableResource):
    """Where the CRM records live. Empty `url` means CRM_HYGIENE_CRM_URL, else the embedded SQLite file."""

    url: str = Field(
        default="", description="SQLAlchemy URL or spreadsheet:PATH; empty = from the environment"
    )
    db_schema: str = Field(default="", description="database schema (PostgreSQL) holding the CRM tables")

    def open(self) -> RecordStore:
        url = self.url or Settings.from_env().crm_url
        return open_store(url, schema=self.db_schema or None)
