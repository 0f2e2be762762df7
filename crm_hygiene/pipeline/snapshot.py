"""Take a tenant's snapshot from a store: typed, flagged, summarized."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import duckdb
import pandas as pd

from crm_hygiene import tables
from crm_hygiene.model import Entity, spec
from crm_hygiene.model.snapshot import UNKEYED_PATTERN, prepare_snapshot
from crm_hygiene.pipeline.incremental import (
    NEW,
    REMOVED,
    RunMode,
    replace_rows,
    row_changes,
    version_changes,
)
from crm_hygiene.stores import RecordStore, StoreError, UnreadableTableError
from crm_hygiene.warehouse import has_table, qualified_name, read_table, write_table


@dataclass(frozen=True)
class EntitySnapshot:
    entity: Entity
    frame: pd.DataFrame
    unknown_columns: list[str]

    def summary(self, top: int = 10) -> dict[str, object]:
        """Counts a RevOps lead can read: rows, malformed rows, the commonest reasons, statuses."""
        frame = self.frame
        reasons = (
            frame.loc[frame["malformed"], "issues"]
            .str.split("; ")
            .explode()
            .str.split(":")
            .str[0]
            .value_counts()
            if frame["malformed"].any()
            else pd.Series(dtype="int64")
        )
        return {
            "rows": len(frame),
            "malformed_rows": int(frame["malformed"].sum()),
            "unkeyed_rows": int(frame["issues"].str.contains(UNKEYED_PATTERN).sum()),
            "malformed_by_field": {str(k): int(v) for k, v in reasons.head(top).items()},
            "status": {str(k): int(v) for k, v in frame["status"].value_counts(dropna=False).items()},
            "unknown_columns": self.unknown_columns,
        }


def iter_snapshot(
    store: RecordStore, tenant: str, *, progress: Callable[[str], None] | None = None
) -> Iterator[EntitySnapshot]:
    """Read and prepare one entity at a time, so a caller can write each and let it go
    (at a million records, holding all three raw and typed tables at once doubles the peak)."""
    if not tenant.strip():
        raise StoreError("tenant must not be empty")
    for entity in Entity:
        raw = store.snapshot(tenant, entity)
        fields = set(spec(entity).fields)
        unknown = [c for c in raw.columns if c not in fields]
        prepared = prepare_snapshot(entity, raw)
        del raw
        if progress:
            progress(
                f"snapshot {tenant}/{spec(entity).table}: {len(prepared)} rows, "
                f"{int(prepared['malformed'].sum())} malformed"
            )
        yield EntitySnapshot(entity, prepared, unknown)


def take_snapshot(
    store: RecordStore, tenant: str, *, progress: Callable[[str], None] | None = None
) -> dict[Entity, EntitySnapshot]:
    """Every entity of one tenant, typed and flagged; raises StoreError only if a store cannot be read."""
    return {snap.entity: snap for snap in iter_snapshot(store, tenant, progress=progress)}


# Read by id while at most one record in this many changed; a whole read otherwise.
MOST_CHANGED = 3


@dataclass(frozen=True)
class SnapshotResult:
    """One entity's snapshot step: what was read and written, and what changed."""

    entity: Entity
    table: str
    read_rows: int
    changes: pd.DataFrame  # id, change (new, changed, removed)
    unknown_columns: list[str]
    # Why the store could not read this table, when the run held it back (`hold_unreadable`).
    held: str | None = None
    malformed: int = 0


def snapshot_to_warehouse(
    conn: duckdb.DuckDBPyConnection,
    store: RecordStore,
    tenant: str,
    mode: RunMode,
    *,
    progress: Callable[[str], None] | None = None,
    hold_unreadable: bool = False,
) -> Iterator[SnapshotResult]:
    """Bring the tenant's snapshot tables up to date, one entity at a time.

    Full: every record read and typed. Incremental (`pipeline.incremental`): a store that
    lists versions has only its new and changed records read and typed, and those rows
    replaced in the previous snapshot table; a store read whole is compared row by row.
    Either way the entity's changes and the store's versions are written for the next steps
    and the next run.

    With `hold_unreadable`, a table the store cannot read (`UnreadableTableError`) is held:
    its last snapshot stays, it reports no change, and `held_tables` names it with the reason
    so no later step writes to it. A store none of whose tables reads is an error either way.
    """
    if not tenant.strip():
        raise StoreError("tenant must not be empty")
    held: dict[Entity, str] = {}
    for entity in Entity:
        try:
            result = _entity_to_warehouse(conn, store, tenant, entity, mode)
        except UnreadableTableError as exc:
            if not hold_unreadable or exc.entity is not entity:
                raise
            held[entity] = str(exc)
            if len(held) == len(Entity):
                raise StoreError(f"no table of tenant {tenant!r} could be read; the first: {exc}") from None
            result = _hold(conn, tenant, entity, str(exc))
        if progress:
            progress(
                f"snapshot {tenant}/{spec(entity).table}: HELD, {result.held}"
                if result.held
                else f"snapshot {tenant}/{spec(entity).table}: {result.read_rows} rows read ({mode.name}), "
                f"{result.malformed} malformed, {(result.changes['change'] != REMOVED).sum()} new or changed, "
                f"{(result.changes['change'] == REMOVED).sum()} gone"
            )
        yield result
    write_table(
        conn,
        tenant,
        tables.HELD_TABLES,
        pd.DataFrame({"entity": [e.value for e in held], "reason": list(held.values())}, dtype=object),
    )


def held_tables(conn: duckdb.DuckDBPyConnection, tenant: str) -> dict[Entity, str]:
    """The tables this run's snapshot held back, with the reason: nothing may be written to them."""
    if not has_table(conn, tenant, tables.HELD_TABLES):
        return {}
    frame = read_table(conn, tenant, tables.HELD_TABLES)
    return {Entity(e): str(r) for e, r in zip(frame["entity"], frame["reason"], strict=True)}


def _hold(conn: duckdb.DuckDBPyConnection, tenant: str, entity: Entity, reason: str) -> SnapshotResult:
    """Keep the last snapshot that read this table (an empty one on a first run), and report
    no change: its records are neither new nor gone, only unread this time."""
    table = tables.snapshot(entity)
    if not has_table(conn, tenant, table):
        empty = pd.DataFrame(columns=list(spec(entity).fields), dtype=object)
        write_table(conn, tenant, table, prepare_snapshot(entity, empty))
        write_table(conn, tenant, tables.store_versions(entity), _versions_of(empty))
    changes = pd.DataFrame({"id": pd.Series(dtype=object), "change": pd.Series(dtype=object)})
    write_table(conn, tenant, tables.changes(entity), changes)
    return SnapshotResult(entity, table, 0, changes, [], held=reason)


def _entity_to_warehouse(
    conn: duckdb.DuckDBPyConnection, store: RecordStore, tenant: str, entity: Entity, mode: RunMode
) -> SnapshotResult:
    table = tables.snapshot(entity)
    versions = None if mode.full else store.versions(tenant, entity)
    changes = None if versions is None else version_changes(conn, tenant, entity, versions)
    wanted = [] if changes is None else changes.loc[changes["change"] != REMOVED, "id"].tolist()
    if versions is not None and len(wanted) * MOST_CHANGED <= len(versions):
        empty = pd.DataFrame(columns=list(spec(entity).fields))
        raw = store.read(tenant, entity, wanted) if wanted else empty
        prepared = prepare_snapshot(entity, raw)
        replace_rows(conn, tenant, table, changes["id"], prepared)
    elif versions is not None:
        # Most records changed (a first run's merges re-point many): one whole read is
        # cheaper than reading them id by id.
        raw = store.snapshot(tenant, entity)
        prepared = prepare_snapshot(entity, raw)
        write_table(conn, tenant, table, prepared)
    else:
        raw = store.snapshot(tenant, entity)
        prepared = prepare_snapshot(entity, raw)
        if mode.full:
            changes = pd.DataFrame({"id": prepared["id"].astype(str), "change": NEW})
        else:
            changes = row_changes(conn, tenant, entity, prepared)
        versions = _versions_of(raw)
        write_table(conn, tenant, table, prepared)
    fields = set(spec(entity).fields)
    unknown = [c for c in raw.columns if c not in fields]
    write_table(conn, tenant, tables.store_versions(entity), versions.astype(object))
    write_table(conn, tenant, tables.changes(entity), changes)
    return SnapshotResult(
        entity, table, len(prepared), changes, unknown, malformed=int(prepared["malformed"].sum())
    )


def _versions_of(raw: pd.DataFrame) -> pd.DataFrame:
    """The store's versions as `RecordStore.versions` gives them (text), from a whole read."""
    frame = raw.reindex(columns=["id", "version", "updated_at"]).astype(object)
    frame["version"] = [None if v is None or v != v else str(v) for v in frame["version"]]
    return frame


def table_summary(
    conn: duckdb.DuckDBPyConnection, tenant: str, entity: Entity, top: int = 10
) -> dict[str, object]:
    """`EntitySnapshot.summary` of the whole snapshot table, counted in the warehouse."""
    name = qualified_name(tenant, tables.snapshot(entity))
    rows, malformed, unkeyed = conn.execute(
        f"SELECT count(*), count(*) FILTER (WHERE malformed), "
        f"count(*) FILTER (WHERE regexp_matches(issues, ?)) FROM {name}",
        [UNKEYED_PATTERN],
    ).fetchall()[0]
    reasons = conn.execute(
        f"""
        SELECT split_part(reason, ':', 1) AS field, count(*) AS n
        FROM (SELECT unnest(string_split(issues, '; ')) AS reason FROM {name} WHERE malformed)
        GROUP BY 1 ORDER BY n DESC, field LIMIT {int(top)}
        """
    ).fetchall()
    status = conn.execute(f"SELECT status, count(*) FROM {name} GROUP BY 1 ORDER BY 2 DESC").fetchall()
    return {
        "rows": int(rows),
        "malformed_rows": int(malformed),
        "unkeyed_rows": int(unkeyed),
        "malformed_by_field": {str(k): int(v) for k, v in reasons},
        "status": {str(k): int(v) for k, v in status},
    }
