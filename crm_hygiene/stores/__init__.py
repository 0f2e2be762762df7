"""CRM record stores behind one protocol: SQL (SQLite, PostgreSQL) and spreadsheets (CSV, XLSX).

Exports are imported on first use (`crm_hygiene.lazy`): a command that only needs the
protocol's types does not load SQLAlchemy or openpyxl.
"""

from typing import TYPE_CHECKING

from crm_hygiene.lazy import lazy_exports

if TYPE_CHECKING:
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

_EXPORTS = {
    "open_store": "factory",
    **dict.fromkeys(
        [
            "ApplyReport",
            "ChangeResult",
            "FieldChange",
            "Outcome",
            "RecordStore",
            "StoreError",
            "UnreadableTableError",
        ],
        "protocol",
    ),
    "SpreadsheetRecordStore": "spreadsheet",
    "SqlRecordStore": "sql",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)

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
