"""Open a record store from one URL string, so configuration is a single environment variable."""

from __future__ import annotations

from pathlib import Path

from crm_hygiene.stores.protocol import RecordStore, StoreError
from crm_hygiene.stores.spreadsheet import SpreadsheetRecordStore
from crm_hygiene.stores.sql import SqlRecordStore

SPREADSHEET_PREFIX = "spreadsheet:"


def open_store(url: str, *, schema: str | None = None, default_tenant: str = "default") -> RecordStore:
    """`spreadsheet:PATH` (a folder of CSV files or an .xlsx workbook) or any SQLAlchemy URL."""
    if url.startswith(SPREADSHEET_PREFIX):
        return SpreadsheetRecordStore(Path(url[len(SPREADSHEET_PREFIX) :]), default_tenant=default_tenant)
    if "://" not in url:
        raise StoreError(
            f"cannot tell what kind of store {url!r} is: use a SQLAlchemy URL "
            "(sqlite:///path.sqlite, postgresql+psycopg2://user@host/db) or spreadsheet:PATH"
        )
    return SqlRecordStore(url, schema=schema)
