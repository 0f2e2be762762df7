"""When a person last changed each field of each record: what `most_recent` survivorship reads.

A record's `updated_at` moves whenever anyone writes the record, this tool included:
re-pointing a contact to its company's survivor bumps it, and a run that crashed after the
company merges would then see those contacts as freshly edited and pick their values in the
contact merges that follow. So each snapshot is compared with the previous one, field by field
(DuckDB SQL over whole tables), and each field keeps the time a person last changed it:

- the same value as at the previous snapshot: the time it had is kept;
- a value this tool wrote since (an audit entry, or a batch still open) is kept as well:
  the tool is no person;
- any other new value is a person's edit, dated by the record's `updated_at` at this snapshot;
- a record seen for the first time gets its `updated_at` for every field.

The table holds per record `v_<field>` (the value last seen) and `t_<field>` (the time a
person last changed it), and `seen_at` (when the snapshot was compared).
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from crm_hygiene.model.records import Entity, spec

# The entities whose records are merged, and so have values to choose among.
TRACKED: tuple[Entity, ...] = (Entity.CONTACT, Entity.COMPANY)
WRITES_COLUMNS = ("record_id", "field", "value")


def tracked_fields(entity: Entity) -> tuple[str, ...]:
    return spec(entity).business_fields


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def track_field_changes(
    conn: duckdb.DuckDBPyConnection,
    entity: Entity,
    *,
    snapshot: str,
    previous: str | None,
    target: str,
    tool_writes: pd.DataFrame,
    seen_at: datetime,
    only: str | None = None,
) -> None:
    """Create `target` from the `snapshot` table and the `previous` field-change table (None on
    a first run); `tool_writes` (record_id, field, value) are this tool's writes since the
    previous snapshot. Table names are given as SQL (qualified and quoted). With `only` (a
    relation with an `id` column), `target` holds the rows of those records alone."""
    fields = tracked_fields(entity)
    writes = tool_writes.loc[:, list(WRITES_COLUMNS)].astype(object)
    conn.register("_tool_writes", writes)
    try:
        columns = ["s.id"]
        for name in fields:
            value, changed = _quote(f"v_{name}"), _quote(f"t_{name}")
            field = _quote(name)
            if previous is None:
                columns += [f"s.{field} AS {value}", f"s.updated_at AS {changed}"]
                continue
            literal = "'" + name.replace("'", "''") + "'"
            columns += [
                f"s.{field} AS {value}",
                f"""CASE
                    WHEN p.id IS NULL THEN s.updated_at
                    WHEN s.{field} IS NOT DISTINCT FROM p.{value} THEN p.{changed}
                    WHEN EXISTS (
                        SELECT 1 FROM _tool_writes w
                        WHERE w.record_id = s.id AND w.field = {literal}
                          AND w.value IS NOT DISTINCT FROM s.{field}
                    ) THEN p.{changed}
                    ELSE s.updated_at
                END AS {changed}""",
            ]
        columns.append("?::TIMESTAMPTZ AS seen_at")
        # A hand-typed sheet may repeat an id: the previous table is read once per id.
        # With `only`, both sides are narrowed before the join (the DISTINCT ON would otherwise
        # read every previous row).
        among = "" if only is None else f" WHERE id IN (SELECT id FROM {only})"
        source = f"(SELECT * FROM {snapshot}{among}) s"
        if previous is not None:
            source += f" LEFT JOIN (SELECT DISTINCT ON (id) * FROM {previous}{among}) p ON p.id = s.id"
        conn.execute(
            f"CREATE OR REPLACE TABLE {target} AS SELECT {', '.join(columns)} FROM {source}", [seen_at]
        )
    finally:
        conn.unregister("_tool_writes")


def previous_seen_at(conn: duckdb.DuckDBPyConnection, table: str) -> datetime | None:
    """When the previous run compared its snapshot (None if the table is empty)."""
    # fetchall: a result left partly read blocks the next query on a shared connection.
    rows = conn.execute(f"SELECT max(seen_at) FROM {table}").fetchall()
    return rows[0][0] if rows else None


def changed_at_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A field-change table as survivorship reads it: indexed by record id, one column of
    change times per field (UTC), the first row of a repeated id kept."""
    if frame.empty:
        return pd.DataFrame(index=pd.Index([], name="id", dtype=object))
    frame = frame.drop_duplicates("id")
    out = pd.DataFrame(index=pd.Index(frame["id"].astype(str).to_numpy(), name="id"))
    for column in frame.columns:
        if column.startswith("t_"):
            # datetime64 values (UTC), not an object array of Timestamps.
            out[column[2:]] = pd.to_datetime(frame[column], utc=True).dt.tz_localize(None).to_numpy()
    return out
