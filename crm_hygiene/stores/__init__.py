"""CRM record stores behind one protocol: SQL (SQLite, PostgreSQL) and spreadsheets (CSV, XLSX)."""

from crm_hygiene.stores.factory import open_store
from crm_hygiene.stores.protocol import (
    ApplyReport,
    ChangeResult,
    FieldChange,
    Outcome,
    RecordStore,
    StoreError,
    UnreadableTableError,
)
from crm_hygiene.stores.spreadsheet import SpreadsheetRecordStore
from crm_hygiene.stores.sql import SqlRecordStore

__all__ = [
    "ApplyReport",
    "ChangeResult",
    "FieldChange",
    "Outcome",
    "RecordStore",
    "SpreadsheetRecordStore",
    "SqlRecordStore",
    "StoreError",
    "UnreadableTableError",
    "open_store",
]
