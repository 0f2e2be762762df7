"""The entity-id registry update as it was before it became set-based, kept as the reference the
set-based path is compared with (tests/ledger/test_registry_reference.py).

Same rules, worked out in pandas with `min` over record-id text (a Python loop per group) and
written back row by row in executemany pages.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from crm_hygiene.ledger.codec import utc_now
from crm_hygiene.ledger.engine import write_transaction
from crm_hygiene.ledger.registry import (
    IDS_PER_QUERY,
    ROWS_PER_BATCH,
    DedupRegistry,
    _batches,
    _dialect_insert,
    _require_text,
    _scope,
    format_entity_id,
)
from crm_hygiene.ledger.schema import entities, entity_assignments


@dataclass(frozen=True)
class _IdPlan:
    """What one `assign_entity_ids` call writes, worked out in memory before any write."""

    result: pd.DataFrame  # key, entity_id: one row per record of the run, in input order
    new_ids: list[tuple[str, int]]  # (entity_id, seq) to issue
    successors: dict[str, str]  # retired id -> the id that replaces it
    changed: pd.DataFrame  # key, entity_id: records whose id is new or different


def _plan_entity_ids(run: pd.DataFrame, known: pd.DataFrame, next_seq: int) -> _IdPlan:
    """Apply the id rules set-based.

    run: key (record id text), cluster (int code), one row per record of this run.
    known: key, old_id, created_at, seq: every record of the tenant/type that has an id.
    """
    frame = run.merge(known, on="key", how="left")
    held = frame[frame["old_id"].notna()]
    votes = (
        held.groupby(["cluster", "old_id"], sort=False)
        .agg(
            records=("key", "size"),
            first_key=("key", "min"),
            created_at=("created_at", "first"),
            seq=("seq", "first"),
        )
        .reset_index()
    )
    # An existing id can stay with one cluster only: the one holding most of its records
    # (tie: the cluster whose smallest record id is smallest). Records elsewhere have left it.
    votes = votes.sort_values(["old_id", "records", "first_key"], ascending=[True, False, True])
    home = votes.drop_duplicates("old_id")
    # Each cluster keeps the oldest id at home in it: issued earliest, then lowest number.
    kept = home.sort_values(["created_at", "seq"]).drop_duplicates("cluster").set_index("cluster")["old_id"]

    # Clusters with no id at home get new ids, numbered in order of their smallest record id
    # so the numbering depends on the records, not on the matcher's cluster labels.
    first_key = run.groupby("cluster")["key"].min()
    fresh = first_key[~first_key.index.isin(kept.index)].sort_values()
    new_ids = [(format_entity_id(next_seq + i), next_seq + i) for i in range(len(fresh))]
    cluster_ids = pd.concat([kept, pd.Series([i for i, _ in new_ids], index=fresh.index, dtype=object)])

    frame["entity_id"] = frame["cluster"].map(cluster_ids)
    # An id at home in a cluster that kept an older one is merged into it: retired, unless a
    # record absent from this run still carries it (absent records are never touched).
    successor = home["cluster"].map(cluster_ids)
    merged = home.loc[home["old_id"] != successor, "old_id"]
    absent = known.loc[~known["key"].isin(run["key"]), "old_id"]
    retire = ~merged.isin(absent)
    successors = dict(zip(merged[retire], successor[merged[retire].index], strict=True))

    changed = frame.loc[
        frame["old_id"].isna() | (frame["old_id"] != frame["entity_id"]), ["key", "entity_id"]
    ]
    return _IdPlan(frame[["key", "entity_id"]], new_ids, successors, changed)


class RowByRowRegistry(DedupRegistry):
    """`DedupRegistry` with the earlier `assign_entity_ids`."""

    def assign_entity_ids(
        self, tenant: str, entity_type: str, clusters: pd.DataFrame, *, run_id: str
    ) -> pd.DataFrame:
        """The earlier implementation, verbatim but for this docstring."""
        where = f"entity ids for {tenant}/{entity_type}"
        tenant, kind = _scope(tenant, entity_type, where)
        run_id = _require_text(run_id, "run_id", where)
        run = self._prepare_clusters(clusters, where)
        if run.empty:
            return pd.DataFrame({"record_id": run["record_id"], "entity_id": pd.Series(dtype=object)})
        now = utc_now()
        scope = (entities.c.tenant == tenant, entities.c.entity_type == kind)
        with write_transaction(self._engine) as connection:
            self._serialise(connection, "entities", tenant, kind)
            known_query = (
                sa.select(
                    entity_assignments.c.record_id.label("key"),
                    entity_assignments.c.entity_id.label("old_id"),
                    entities.c.created_at,
                    entities.c.seq,
                )
                .select_from(
                    entity_assignments.join(
                        entities,
                        sa.and_(
                            entities.c.tenant == entity_assignments.c.tenant,
                            entities.c.entity_type == entity_assignments.c.entity_type,
                            entities.c.entity_id == entity_assignments.c.entity_id,
                        ),
                    )
                )
                .where(entity_assignments.c.tenant == tenant, entity_assignments.c.entity_type == kind)
            )
            known = pd.DataFrame(
                connection.execute(known_query).all(), columns=["key", "old_id", "created_at", "seq"]
            )
            last_seq = connection.execute(
                sa.select(sa.func.coalesce(sa.func.max(entities.c.seq), 0)).where(*scope)
            ).scalar_one()
            plan = _plan_entity_ids(run[["key", "cluster"]], known, int(last_seq) + 1)

            new_rows = [
                {
                    "tenant": tenant,
                    "entity_type": kind,
                    "entity_id": entity_id,
                    "seq": seq,
                    "created_at": now,
                    "created_run_id": run_id,
                }
                for entity_id, seq in plan.new_ids
            ]
            for batch in _batches(new_rows, ROWS_PER_BATCH):
                connection.execute(sa.insert(entities), batch)
            for batch in _batches(plan.successors.items(), IDS_PER_QUERY):
                mapping = dict(batch)
                connection.execute(
                    sa.update(entities)
                    .where(*scope, entities.c.entity_id.in_(mapping), entities.c.successor_id.is_(None))
                    .values(
                        successor_id=sa.case(mapping, value=entities.c.entity_id),
                        retired_at=now,
                        retired_run_id=run_id,
                    )
                )
            upsert = _dialect_insert(connection, entity_assignments)
            upsert = upsert.on_conflict_do_update(
                index_elements=["tenant", "entity_type", "record_id"],
                set_={
                    "entity_id": upsert.excluded.entity_id,
                    "assigned_at": upsert.excluded.assigned_at,
                    "run_id": upsert.excluded.run_id,
                },
            )
            # RETURNING is what lets SQLAlchemy send an ON CONFLICT insert as multi-row VALUES
            # pages; without it psycopg2 would get one round trip per record (sqlalchemy#13130).
            upsert = upsert.returning(entity_assignments.c.record_id)
            changed = (
                {
                    "tenant": tenant,
                    "entity_type": kind,
                    "record_id": key,
                    "entity_id": entity_id,
                    "assigned_at": now,
                    "run_id": run_id,
                }
                for key, entity_id in plan.changed.itertuples(index=False, name=None)
            )
            for batch in _batches(changed, ROWS_PER_BATCH):
                connection.execute(upsert, batch).all()
        return pd.DataFrame(
            {"record_id": run["record_id"].to_numpy(), "entity_id": plan.result["entity_id"].to_numpy()}
        )
