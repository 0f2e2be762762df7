"""One DuckDB connection for a matching job, and the cleanup Splink does not do by itself.

Splink materialises every intermediate result (TF tables, blocked pairs, predictions) as a
table on the connection and never drops them; on a long-lived, shared connection that is a
memory leak. A `SplinkSession` registers inputs under unique names (two sessions on one
connection must not overwrite each other's `__splink__input_table_0`) and, on exit, drops
what Splink created and unregisters the inputs. A connection passed in stays open; one the
session opened itself is closed.
"""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import TYPE_CHECKING

import duckdb
import pandas as pd
import pyarrow as pa
from splink import DuckDBAPI

if TYPE_CHECKING:
    from splink.internals.splink_dataframe import SplinkDataFrame


class SplinkSession:
    """A DuckDB connection plus a Splink `DuckDBAPI` on it; use as a context manager."""

    def __init__(self, con: duckdb.DuckDBPyConnection | None = None) -> None:
        self._owns_connection = con is None
        self.con: duckdb.DuckDBPyConnection = duckdb.connect() if con is None else con
        self.db_api = DuckDBAPI(connection=self.con)
        self._registered: list[str] = []

    def register(self, table: pa.Table | pd.DataFrame, label: str) -> SplinkDataFrame:
        """Register an input table under a fresh name; `label` only makes the name readable."""
        name = f"__crm_match_{label}_{uuid.uuid4().hex[:10]}"
        sdf = self.db_api.register(table, table_name=name)
        self._registered.append(name)
        return sdf

    def close(self) -> None:
        try:
            self.db_api.delete_tables_created_by_splink_from_db()
            for name in self._registered:
                self.con.unregister(name)
            self._registered.clear()
        finally:
            if self._owns_connection:
                self.con.close()

    def __enter__(self) -> SplinkSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
