"""The analytical warehouse (DuckDB): one schema per tenant, tables replaced whole per run.

Replacing a tenant's table in one statement keeps re-runs idempotent and never leaves a
half-written partition behind.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import duckdb
import pandas as pd

_SAFE = re.compile(r"[^a-z0-9_]")


def tenant_schema(tenant: str) -> str:
    """A DuckDB schema name for a tenant: lower-case, safe characters only, never empty."""
    slug = _SAFE.sub("_", tenant.strip().lower()) or "_"
    return f"tenant_{slug}"


def qualified_name(tenant: str, table: str) -> str:
    """The table's name in the tenant's schema, quoted for SQL."""
    return f'"{tenant_schema(tenant)}"."{table}"'


def write_table(conn: duckdb.DuckDBPyConnection, tenant: str, table: str, frame: pd.DataFrame) -> str:
    """Replace `table` in the tenant's schema with `frame`; returns the qualified name."""
    schema = tenant_schema(tenant)
    qualified = f'"{schema}"."{table}"'
    conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    # An object column with no value at all would get DuckDB's NULL type, into which a later
    # run cannot insert text (an incremental run adds rows to these tables): make it text.
    empty = [c for c in frame.columns if frame[c].dtype == object and not frame[c].notna().any()]
    replace = (
        " REPLACE (" + ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in empty) + ")" if empty else ""
    )
    conn.register("_incoming", frame)
    try:
        conn.execute(f"CREATE OR REPLACE TABLE {qualified} AS SELECT *{replace} FROM _incoming")
    finally:
        conn.unregister("_incoming")
    return qualified


def append_table(conn: duckdb.DuckDBPyConnection, tenant: str, table: str, frame: pd.DataFrame) -> None:
    """Add `frame`'s rows to the tenant's `table` (columns matched by name)."""
    conn.register("_appended", frame)
    try:
        conn.execute(f"INSERT INTO {qualified_name(tenant, table)} BY NAME SELECT * FROM _appended")
    finally:
        conn.unregister("_appended")


def read_table(
    conn: duckdb.DuckDBPyConnection,
    tenant: str,
    table: str,
    columns: Sequence[str] | None = None,
    *,
    ids: pd.Series | None = None,
) -> pd.DataFrame:
    """The tenant's table, or only `columns` of it (a million rows of unused text cost memory),
    or only the rows whose `id` is one of `ids` (an incremental run's records)."""
    selected = "*" if columns is None else ", ".join(f'"{c}"' for c in columns)
    query = f'SELECT {selected} FROM "{tenant_schema(tenant)}"."{table}"'
    if ids is None:
        # fetch_df reads the whole result, so no partly read cursor is left on a shared connection.
        return conn.execute(query).fetch_df()
    conn.register("_ids", pd.DataFrame({"id": pd.Series(ids, dtype=object).astype(str)}))
    try:
        return conn.execute(f"{query} WHERE id IN (SELECT id FROM _ids)").fetch_df()
    finally:
        conn.unregister("_ids")


def count_rows(conn: duckdb.DuckDBPyConnection, tenant: str, table: str) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {qualified_name(tenant, table)}").fetchall()[0][0])


def table_columns(conn: duckdb.DuckDBPyConnection, tenant: str, table: str) -> list[str]:
    """The names of the tenant's table's columns, in table order."""
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [tenant_schema(tenant), table],
    ).fetchall()
    return [name for (name,) in rows]


def has_table(conn: duckdb.DuckDBPyConnection, tenant: str, table: str) -> bool:
    """Whether the tenant's schema holds `table` (a step reading last run's output asks first)."""
    # fetchall: a result left partly read blocks the next query on a shared connection.
    found = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [tenant_schema(tenant), table],
    ).fetchall()
    return bool(found and found[0][0])


def snapshot_table(entity_table: str) -> str:
    return f"snapshot_{entity_table}"
