"""Incremental runs: which records changed since the previous run, from the snapshot on.

A run is full (every record snapshotted, normalized, proposed and scored again) when asked
(`crm-hygiene run --full`), on a tenant's first run, when the policy in force is not the one
the previous run used, or when the warehouse was written by an older layout of these tables
(`STATE_VERSION`). Otherwise it is incremental: the snapshot reads only the records whose
`version` or `updated_at` moved (a store that cannot list them cheaply, a spreadsheet, is read
whole and compared row by row), and every later step works on those records and the ones
they touch, reusing the previous run's results for the rest.

The snapshot step writes, per entity, the records of this run that are new, changed or gone
(`changes_<table>`: id, change); the run's mode is in `run_state`. A writer that changes a
record without moving its version or `updated_at` is seen by the next full run.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from crm_hygiene import tables
from crm_hygiene.model import Entity
from crm_hygiene.warehouse import has_table, qualified_name, read_table, tenant_schema, write_table

# Bumped when a step's warehouse tables change layout: the next run is then full.
STATE_VERSION = "1"
NEW, CHANGED, REMOVED = "new", "changed", "removed"


@dataclass(frozen=True)
class RunMode:
    """Whether this run is full, and why (a line for the run's metadata and summary)."""

    full: bool
    reason: str

    @property
    def name(self) -> str:
        return "full" if self.full else "incremental"


def decide_mode(
    conn: duckdb.DuckDBPyConnection, tenant: str, policy_hash: str, *, requested_full: bool
) -> RunMode:
    """Full or incremental, from what the previous run left in `run_state` (see the docstring)."""
    if requested_full:
        return RunMode(True, "asked for (--full)")
    state = previous_state(conn, tenant)
    if not state:
        return RunMode(True, "first run of this tenant")
    if state.get("state_version") != STATE_VERSION:
        return RunMode(True, "the warehouse tables were written by an older version")
    if state.get("complete") != "true":
        # Its snapshot moved the versions on, but not every step used its changes.
        return RunMode(True, "the previous run did not finish")
    if state.get("policy_version") != policy_hash:
        return RunMode(
            True, f"the policy changed ({state.get('policy_version', '?')[:12]} -> {policy_hash[:12]})"
        )
    missing = [e for e in Entity if not has_table(conn, tenant, tables.snapshot(e))]
    if missing:
        return RunMode(True, f"no previous snapshot of {', '.join(e.value for e in missing)}")
    return RunMode(False, "only records changed since the previous run")


def previous_state(conn: duckdb.DuckDBPyConnection, tenant: str) -> dict[str, str]:
    if not has_table(conn, tenant, tables.RUN_STATE):
        return {}
    frame = read_table(conn, tenant, tables.RUN_STATE)
    return dict(zip(frame["key"], frame["value"], strict=True))


def record_state(conn: duckdb.DuckDBPyConnection, tenant: str, policy_hash: str, mode: RunMode) -> None:
    """What the next run compares against: this run's policy, mode and table layout; the run
    is complete once its last step says so (`mark_complete`)."""
    state = {
        "state_version": STATE_VERSION,
        "policy_version": policy_hash,
        "mode": mode.name,
        "reason": mode.reason,
        "complete": "false",
    }
    _write_state(conn, tenant, state)


def mark_complete(conn: duckdb.DuckDBPyConnection, tenant: str) -> None:
    """The run's last step is done: the next run may build on this one's tables."""
    state = previous_state(conn, tenant)
    if state:
        _write_state(conn, tenant, {**state, "complete": "true"})


def _write_state(conn: duckdb.DuckDBPyConnection, tenant: str, state: dict[str, str]) -> None:
    write_table(
        conn, tenant, tables.RUN_STATE, pd.DataFrame({"key": list(state), "value": list(state.values())})
    )


def run_mode(conn: duckdb.DuckDBPyConnection, tenant: str) -> RunMode:
    """The mode the snapshot step of this run chose (full when none was recorded)."""
    state = previous_state(conn, tenant)
    return RunMode(state.get("mode") != "incremental", state.get("reason", "no run state"))


def version_changes(
    conn: duckdb.DuckDBPyConnection, tenant: str, entity: Entity, versions: pd.DataFrame
) -> pd.DataFrame:
    """Records new, changed (version or updated_at moved) or gone since the store versions the
    previous run saw (id, change)."""
    previous = tables.store_versions(entity)
    if not has_table(conn, tenant, previous):
        return pd.DataFrame({"id": versions["id"].astype(str), "change": NEW})
    conn.register("_versions", versions[["id", "version", "updated_at"]].astype(object))
    try:
        return conn.execute(
            f"""
            SELECT v.id, CASE WHEN p.id IS NULL THEN '{NEW}' ELSE '{CHANGED}' END AS change
            FROM _versions v LEFT JOIN {qualified_name(tenant, previous)} p ON p.id = v.id
            WHERE p.id IS NULL
               OR v.version IS DISTINCT FROM p.version
               OR v.updated_at IS DISTINCT FROM p.updated_at
            UNION ALL
            SELECT p.id, '{REMOVED}' FROM {qualified_name(tenant, previous)} p
            WHERE p.id NOT IN (SELECT id FROM _versions)
            """
        ).fetch_df()
    finally:
        conn.unregister("_versions")


def row_changes(
    conn: duckdb.DuckDBPyConnection, tenant: str, entity: Entity, snapshot: pd.DataFrame
) -> pd.DataFrame:
    """Records new, changed (any value) or gone since the previous snapshot table, for a store
    read whole (id, change). Rows are compared as text, so a column typed differently by the
    previous run (all empty then) compares by its values."""
    table = tables.snapshot(entity)
    if not has_table(conn, tenant, table):
        return pd.DataFrame({"id": snapshot["id"].astype(str), "change": NEW})
    old = qualified_name(tenant, table)
    columns = [c for c in snapshot.columns if c in _columns(conn, tenant, table)]
    text = " || chr(31) || ".join(f'coalesce(CAST("{c}" AS VARCHAR), chr(0))' for c in columns)
    conn.register("_snapshot", snapshot)
    try:
        return (
            conn.execute(
                f"""
            WITH new AS (SELECT id, {text} AS row_text FROM _snapshot),
                 old AS (SELECT id, {text} AS row_text FROM {old})
            SELECT n.id, CASE WHEN o.id IS NULL THEN '{NEW}' ELSE '{CHANGED}' END AS change
            FROM new n LEFT JOIN old o ON o.id = n.id
            WHERE o.id IS NULL OR n.row_text IS DISTINCT FROM o.row_text
            UNION ALL
            SELECT o.id, '{REMOVED}' FROM old o WHERE o.id NOT IN (SELECT id FROM new)
            """
            )
            .fetch_df()
            .drop_duplicates("id")
        )
    finally:
        conn.unregister("_snapshot")


def _columns(conn: duckdb.DuckDBPyConnection, tenant: str, table: str) -> set[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
        [tenant_schema(tenant), table],
    ).fetchall()
    return {r[0] for r in rows}


def replace_rows(
    conn: duckdb.DuckDBPyConnection,
    tenant: str,
    table: str,
    ids: pd.Series,
    rows: pd.DataFrame,
    *,
    entity: str | None = None,
) -> None:
    """In the tenant's warehouse `table` (derived from the snapshot, never the CRM itself),
    the rows of `ids` (changed or gone) replaced by `rows`: one transaction, so a failure
    leaves the previous run's table as it was. With `entity`, a
    table of several entities is keyed by (entity, record_id) instead of id."""
    target = qualified_name(tenant, table)
    conn.register("_gone", pd.DataFrame({"id": pd.Series(ids, dtype=object).astype(str)}))
    conn.register("_rows", rows)
    if entity is None:
        delete = f"DELETE FROM {target} WHERE id IN (SELECT id FROM _gone)"
    else:
        literal = "'" + entity.replace("'", "''") + "'"
        delete = f"DELETE FROM {target} WHERE entity = {literal} AND record_id IN (SELECT id FROM _gone)"
    try:
        conn.execute("BEGIN TRANSACTION")
        conn.execute(delete)
        if len(rows):
            conn.execute(f"INSERT INTO {target} BY NAME SELECT * FROM _rows")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.unregister("_gone")
        conn.unregister("_rows")


def changed_ids(conn: duckdb.DuckDBPyConnection, tenant: str, entity: Entity, *kinds: str) -> pd.Series:
    """Ids of this run's `changes_<table>` of the given kinds (all kinds when none given)."""
    frame = read_table(conn, tenant, tables.changes(entity))
    if kinds:
        frame = frame[frame["change"].isin(kinds)]
    return frame["id"].astype(str).reset_index(drop=True)


def snapshot_rows_of_run(conn: duckdb.DuckDBPyConnection, tenant: str, entity: Entity) -> pd.Series | None:
    """The snapshot rows this run wrote (None on a full run: all of them)."""
    if run_mode(conn, tenant).full or not has_table(conn, tenant, tables.changes(entity)):
        return None
    return changed_ids(conn, tenant, entity, NEW, CHANGED)


def normalized_rows_of_run(conn: duckdb.DuckDBPyConnection, tenant: str, entity: Entity) -> pd.Series | None:
    """The normalized rows this run wrote (None on a full run: all of them)."""
    if run_mode(conn, tenant).full or not has_table(conn, tenant, tables.renormalized(entity)):
        return None
    return read_table(conn, tenant, tables.renormalized(entity))["id"].astype(str)


def repeated_ids(conn: duckdb.DuckDBPyConnection, tenant: str, table: str, where: str = "TRUE") -> list[str]:
    """Ids that more than one row of the tenant's `table` holds (among rows matching `where`)."""
    rows = conn.execute(
        f"SELECT id FROM {qualified_name(tenant, table)} WHERE {where} GROUP BY id HAVING count(*) > 1 ORDER BY id"
    ).fetchall()
    return [r[0] for r in rows]
