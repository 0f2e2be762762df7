"""The ledger (proposals, audit log, review queue, decisions) as a Dagster resource."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from crm_hygiene.config import Settings
from crm_hygiene.ledger import Ledger


class LedgerResource(dg.ConfigurableResource):
    """Empty `url` means CRM_HYGIENE_LEDGER_URL, else the embedded SQLite ledger."""

    url: str = Field(default="", description="SQLAlchemy URL of the ledger; empty = from the environment")
    db_schema: str = Field(default="", description="database schema (PostgreSQL) holding the ledger tables")

    def open(self) -> Ledger:
        return Ledger.open(self.url or Settings.from_env().ledger_url, schema=self.db_schema or None)
