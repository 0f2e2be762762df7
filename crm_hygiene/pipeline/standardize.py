"""Standardization proposals into the warehouse: every record in parts, or only what changed."""

from __future__ import annotations

import duckdb

from crm_hygiene import tables
from crm_hygiene.model import Entity
from crm_hygiene.normalize.records import standardization_proposals
from crm_hygiene.pipeline.incremental import RunMode, replace_rows
from crm_hygiene.warehouse import append_table, read_table, write_table

# Records proposed for at once: a million records' snapshot and normalized frames side by side
# (and millions of proposals) would be most of a run's memory.
PROPOSAL_ROWS = 250_000


def propose_to_warehouse(conn: duckdb.DuckDBPyConnection, tenant: str, mode: RunMode) -> tuple[bool, int]:
    """Write `standardization_proposals`: every record's on a full run, the records normalized
    again (`renormalized_<table>`) on an incremental one, replacing theirs. Returns whether the
    run was incremental and how many proposals it made now."""
    table = tables.STANDARDIZATION_PROPOSALS
    incremental = not mode.full and tables.has(conn, tenant, table)
    made, first = 0, True
    for entity in Entity:
        source = tables.renormalized(entity) if incremental else tables.normalized(entity)
        ids = read_table(conn, tenant, source, ["id"])["id"].astype(str).drop_duplicates()
        for start in range(0, max(len(ids), 1), PROPOSAL_ROWS):
            part = ids.iloc[start : start + PROPOSAL_ROWS]
            proposals = standardization_proposals(
                tenant,
                entity,
                tables.read_snapshot(conn, tenant, entity, ids=part),
                tables.read_normalized(conn, tenant, entity, ids=part),
            )
            made += len(proposals)
            if incremental:
                replace_rows(conn, tenant, table, part, proposals, entity=entity.value)
            elif first:
                write_table(conn, tenant, table, proposals)
                first = False
            elif len(proposals):
                append_table(conn, tenant, table, proposals)
    return incremental, made
