"""Normalize a tenant's snapshot into the warehouse: every record, or only what changed.

Incremental (`pipeline.incremental`): the records the snapshot found new or changed are
normalized again, and so are the records whose normalization reads them: the contacts of a
changed company (its country is their phone's default region) and the employment rows of a
re-normalized contact (the person's country says how they write dates). The normalized rows
of those records, and of records gone from the store, are replaced in the previous tables;
the countries of everything else come from those tables. `normalized_<table>` then holds what
a full run would have written, and `renormalized_<table>` lists the ids redone this run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

from crm_hygiene import tables
from crm_hygiene.model import Entity
from crm_hygiene.model.snapshot import restore_snapshot_dtypes
from crm_hygiene.normalize.records import INPUT_COLUMNS, normalize_in_order
from crm_hygiene.pipeline.incremental import CHANGED, NEW, REMOVED, RunMode, changed_ids, replace_rows
from crm_hygiene.warehouse import qualified_name, read_table, write_table


@dataclass(frozen=True)
class Normalized:
    """What one entity's normalization did this run, for the step's metadata."""

    rows: int
    rule_counts: dict[str, int]
    validity: dict[str, float]


def normalize_to_warehouse(
    conn: duckdb.DuckDBPyConnection,
    tenant: str,
    mode: RunMode,
    *,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[Entity, Normalized]:
    """Write `normalized_<table>` and `renormalized_<table>`, one entity at a time (each table
    written and let go before the next is read); returns what was normalized now."""
    done: dict[Entity, Normalized] = {}
    if mode.full:
        for entity, table in normalize_in_order(
            lambda e: tables.read_snapshot(conn, tenant, e, INPUT_COLUMNS[e])
        ):
            write_table(conn, tenant, tables.normalized(entity), table.frame)
            write_table(
                conn, tenant, tables.renormalized(entity), pd.DataFrame({"id": table.frame["id"].astype(str)})
            )
            done[entity] = Normalized(len(table.frame), table.rule_counts(), table.validity())
            del table
        return done
    ids = affected_ids(conn, tenant)
    for entity, table in normalize_in_order(
        lambda e: _snapshot_rows(conn, tenant, e, ids[e]),
        known_company_country=_countries(conn, tenant, Entity.COMPANY),
        known_contact_country=_countries(conn, tenant, Entity.CONTACT),
    ):
        gone = changed_ids(conn, tenant, entity, REMOVED)
        redone = pd.concat([ids[entity], gone], ignore_index=True)
        replace_rows(conn, tenant, tables.normalized(entity), redone, table.frame)
        write_table(conn, tenant, tables.renormalized(entity), pd.DataFrame({"id": redone.astype(str)}))
        progress(f"normalized {tenant}/{entity.value}: {len(table.frame)} records again, {len(gone)} gone")
        done[entity] = Normalized(len(table.frame), table.rule_counts(), table.validity())
    return done


def affected_ids(conn: duckdb.DuckDBPyConnection, tenant: str) -> dict[Entity, pd.Series]:
    """Per entity, the ids to normalize again: changed ones and those that read them."""
    companies = changed_ids(conn, tenant, Entity.COMPANY, NEW, CHANGED)
    contacts = _union(
        changed_ids(conn, tenant, Entity.CONTACT, NEW, CHANGED),
        _referring(conn, tenant, Entity.CONTACT, "company_id", companies),
    )
    employment = _union(
        changed_ids(conn, tenant, Entity.EMPLOYMENT, NEW, CHANGED),
        _referring(conn, tenant, Entity.EMPLOYMENT, "contact_id", contacts),
    )
    return {Entity.COMPANY: companies, Entity.CONTACT: contacts, Entity.EMPLOYMENT: employment}


def _union(*parts: pd.Series) -> pd.Series:
    return pd.Series(pd.unique(pd.concat(parts, ignore_index=True).astype(str)), dtype=object)


def _referring(
    conn: duckdb.DuckDBPyConnection, tenant: str, entity: Entity, column: str, ids: pd.Series
) -> pd.Series:
    """Ids of the entity's snapshot rows whose `column` is one of `ids`."""
    if ids.empty:
        return pd.Series([], dtype=object)
    conn.register("_targets", pd.DataFrame({"id": ids.astype(str)}))
    try:
        rows = conn.execute(
            f'SELECT id FROM {qualified_name(tenant, tables.snapshot(entity))} WHERE "{column}" IN (SELECT id FROM _targets)'
        ).fetchall()
    finally:
        conn.unregister("_targets")
    return pd.Series([r[0] for r in rows], dtype=object)


def _snapshot_rows(
    conn: duckdb.DuckDBPyConnection, tenant: str, entity: Entity, ids: pd.Series
) -> pd.DataFrame:
    """The snapshot rows of `ids`, only the columns normalization reads, types restored."""
    conn.register("_wanted", pd.DataFrame({"id": ids.astype(str)}))
    try:
        columns = ", ".join(f'"{c}"' for c in INPUT_COLUMNS[entity])
        frame = conn.execute(
            f"SELECT {columns} FROM {qualified_name(tenant, tables.snapshot(entity))} "
            "WHERE id IN (SELECT id FROM _wanted) ORDER BY id"
        ).fetch_df()
    finally:
        conn.unregister("_wanted")
    return restore_snapshot_dtypes(entity, frame)


def _countries(conn: duckdb.DuckDBPyConnection, tenant: str, entity: Entity) -> pd.Series:
    frame = read_table(conn, tenant, tables.normalized(entity), ["id", "country"])
    return pd.Series(frame["country"].to_numpy(), index=frame["id"].astype(str).to_numpy())
