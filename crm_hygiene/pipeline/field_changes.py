"""After a snapshot: bring the tenant's field-change tables up to date (`model.field_changes`)."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pandas as pd

from crm_hygiene import tables
from crm_hygiene.ledger import Ledger
from crm_hygiene.model import Entity
from crm_hygiene.model.field_changes import WRITES_COLUMNS, previous_seen_at, track_field_changes
from crm_hygiene.pipeline.incremental import replace_rows
from crm_hygiene.warehouse import has_table, qualified_name


def update_field_changes(
    conn: duckdb.DuckDBPyConnection,
    tenant: str,
    entity: Entity,
    ledger: Ledger,
    *,
    now: datetime | None = None,
    changed: pd.Series | None = None,
) -> str:
    """Compare the entity's snapshot table with the previous field-change table; returns the
    table's qualified name. The new table is built beside the old one, then takes its place.

    `changed` (the ids an incremental snapshot found new, changed or gone) limits the work to
    those records: every other record's snapshot row is the previous run's, so its row of the
    table would come out the same. Their rows are replaced (`incremental.replace_rows`)."""
    target = tables.field_changes(entity)
    previous = qualified_name(tenant, target) if has_table(conn, tenant, target) else None
    since = previous_seen_at(conn, previous) if previous else None
    writes = (
        ledger.writes.written_since(tenant, entity.value, since)
        if since is not None
        else pd.DataFrame(columns=list(WRITES_COLUMNS))
    )
    staged = qualified_name(tenant, f"{target}_next")
    seen_at = now or datetime.now(UTC)
    final = qualified_name(tenant, target)
    incremental = changed is not None and previous is not None
    if incremental:
        assert changed is not None
        conn.register("_changed_ids", pd.DataFrame({"id": changed.astype(str).unique()}))
    try:
        track_field_changes(
            conn,
            entity,
            snapshot=qualified_name(tenant, tables.snapshot(entity)),
            previous=previous,
            target=staged,
            tool_writes=writes,
            seen_at=seen_at,
            only="_changed_ids" if incremental else None,
        )
        if incremental:
            assert changed is not None
            # Only the changed records' rows (a few thousand), swapped in as incremental
            # snapshots swap theirs; `seen_at` is when the whole table was last compared (the
            # next run reads the tool's writes since then). A crash in between leaves the run
            # unfinished, so the next one is full and rebuilds the table.
            rows = conn.execute(f"SELECT * FROM {staged}").fetch_df()
            replace_rows(conn, tenant, target, changed, rows)
            conn.execute(f"UPDATE {final} SET seen_at = ?", [seen_at])
        else:
            conn.execute(f"CREATE OR REPLACE TABLE {final} AS SELECT * FROM {staged}")
    finally:
        if incremental:
            conn.unregister("_changed_ids")
    conn.execute(f"DROP TABLE {staged}")
    return final
