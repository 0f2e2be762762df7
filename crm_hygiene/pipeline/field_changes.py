"""After a snapshot: bring the tenant's field-change tables up to date (`model.field_changes`)."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pandas as pd

from crm_hygiene import tables
from crm_hygiene.ledger import Ledger
from crm_hygiene.model import Entity
from crm_hygiene.model.field_changes import WRITES_COLUMNS, previous_seen_at, track_field_changes
from crm_hygiene.warehouse import has_table, qualified_name


def update_field_changes(
    conn: duckdb.DuckDBPyConnection,
    tenant: str,
    entity: Entity,
    ledger: Ledger,
    *,
    now: datetime | None = None,
) -> str:
    """Compare the entity's snapshot table with the previous field-change table; returns the
    table's qualified name. The new table is built beside the old one, then takes its place."""
    target = tables.field_changes(entity)
    previous = qualified_name(tenant, target) if has_table(conn, tenant, target) else None
    since = previous_seen_at(conn, previous) if previous else None
    writes = (
        ledger.writes.written_since(tenant, entity.value, since)
        if since is not None
        else pd.DataFrame(columns=list(WRITES_COLUMNS))
    )
    staged = qualified_name(tenant, f"{target}_next")
    track_field_changes(
        conn,
        entity,
        snapshot=qualified_name(tenant, tables.snapshot(entity)),
        previous=previous,
        target=staged,
        tool_writes=writes,
        seen_at=now or datetime.now(UTC),
    )
    final = qualified_name(tenant, target)
    conn.execute(f"CREATE OR REPLACE TABLE {final} AS SELECT * FROM {staged}")
    conn.execute(f"DROP TABLE {staged}")
    return final
