"""Every per-tenant warehouse table, named and read in one place.

Assets, commands and tests name a table through this module and read it with its types
restored, so no caller reaches into another step's code for a helper, and renaming a table
is one edit. Tables live in the tenant's DuckDB schema (`warehouse.tenant_schema`).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from crm_hygiene.matching.records import EntityRecords
from crm_hygiene.model import Entity, spec
from crm_hygiene.model.field_changes import TRACKED, changed_at_frame, tracked_fields
from crm_hygiene.model.snapshot import restore_snapshot_dtypes
from crm_hygiene.warehouse import count_rows, has_table, read_table, table_columns

STANDARDIZATION_PROPOSALS = "standardization_proposals"
MERGE_PROPOSALS = "merge_proposals"
APPLIED_MERGES = "applied_merges"
# The previous run's mode, policy and table layout (`pipeline.incremental`).
RUN_STATE = "run_state"
# The tables this run's snapshot could not read and held back: entity, reason.
HELD_TABLES = "held_tables"


def snapshot(entity: Entity) -> str:
    """`crm_snapshot`: the entity's records as the store holds them, typed and flagged."""
    return f"snapshot_{spec(entity).table}"


def normalized(entity: Entity) -> str:
    """`normalized_records`: canonical values, validity and match keys per field."""
    return f"normalized_{spec(entity).table}"


def renormalized(entity: Entity) -> str:
    """The ids `normalized_records` normalized (again) this run: every id on a full run."""
    return f"renormalized_{spec(entity).table}"


def candidate_pairs(entity: Entity) -> str:
    return f"candidate_pairs_{spec(entity).table}"


def duplicate_clusters(entity: Entity) -> str:
    return f"duplicate_clusters_{spec(entity).table}"


def store_versions(entity: Entity) -> str:
    """Every record's version and updated_at as the store held them at the last snapshot."""
    return f"store_versions_{spec(entity).table}"


def changes(entity: Entity) -> str:
    """The records this run's snapshot found new, changed or gone (`pipeline.incremental`)."""
    return f"changes_{spec(entity).table}"


def field_changes(entity: Entity) -> str:
    """When a person last changed each field of each record (`model.field_changes`)."""
    return f"field_changes_{spec(entity).table}"


def read_snapshot(
    conn: duckdb.DuckDBPyConnection,
    tenant: str,
    entity: Entity,
    columns: Sequence[str] | None = None,
    *,
    ids: pd.Series | None = None,
) -> pd.DataFrame:
    """The entity's snapshot (only `columns`, or only the rows of `ids`, when given), with its
    types restored."""
    return restore_snapshot_dtypes(entity, read_table(conn, tenant, snapshot(entity), columns, ids=ids))


def read_normalized(
    conn: duckdb.DuckDBPyConnection,
    tenant: str,
    entity: Entity,
    columns: Sequence[str] | None = None,
    *,
    ids: pd.Series | None = None,
) -> pd.DataFrame:
    """The entity's normalized records, with nullable booleans and versions restored.

    With `columns`, only those of them the table has (a check reads a few of many columns).
    """
    present = set(table_columns(conn, tenant, normalized(entity))) if columns is not None else set()
    if present:  # a missing table is read as asked, so the error names it
        columns = [c for c in columns or () if c in present]
    frame = read_table(conn, tenant, normalized(entity), columns, ids=ids)
    for column in frame.columns:
        if column.endswith("_valid"):
            frame[column] = frame[column].astype("boolean")
    if "version" in frame.columns:
        frame["version"] = frame["version"].astype("Int64")
    return frame


def read_records(
    conn: duckdb.DuckDBPyConnection,
    tenant: str,
    entity: Entity,
    *,
    snapshot_columns: list[str] | None = None,
    normalized_columns: list[str] | None = None,
    ids: pd.Series | None = None,
) -> EntityRecords:
    """An entity's snapshot (all columns, or only `snapshot_columns`), normalized frame (all
    columns, or only `normalized_columns`) and, for the whole snapshot once tracked, when a
    person last changed each field; only the records of `ids` when given (survivorship needs
    the members of duplicate clusters, not a million records)."""
    changed = None
    table = field_changes(entity)
    if snapshot_columns is None and entity in TRACKED and has_table(conn, tenant, table):
        times = ["id", *(f"t_{name}" for name in tracked_fields(entity))]
        changed = changed_at_frame(read_table(conn, tenant, table, times, ids=ids))
    snapshot = read_snapshot(conn, tenant, entity, snapshot_columns, ids=ids)
    # Rows without an id of their own (missing, repeated) stay in the snapshot with their
    # reason; normalization left them out, and matching keys everything by id.
    unkeyed = snapshot["id"].isna() | snapshot["id"].duplicated(keep=False)
    if unkeyed.any():
        snapshot = snapshot[~unkeyed].reset_index(drop=True)
    return EntityRecords(
        entity,
        snapshot,
        read_normalized(conn, tenant, entity, normalized_columns, ids=ids),
        changed,
    )


def has(conn: duckdb.DuckDBPyConnection, tenant: str, table: str) -> bool:
    return has_table(conn, tenant, table)


def count(conn: duckdb.DuckDBPyConnection, tenant: str, table: str) -> int:
    return count_rows(conn, tenant, table)


def read_if_present(conn: duckdb.DuckDBPyConnection, tenant: str, table: str) -> pd.DataFrame | None:
    """The table as the previous run left it, or None on a tenant's first run."""
    return read_table(conn, tenant, table) if has_table(conn, tenant, table) else None
