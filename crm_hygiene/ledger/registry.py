"""Deduplication bookkeeping: stable entity ids, do-not-link pairs and match model versions.

Matching (Splink) runs elsewhere; this module remembers its results so the next run builds on
them instead of starting over:

- entity ids: each run's clusters get ids that survive re-clustering, merges and splits
  (the rules are on `DedupRegistry.assign_entity_ids`);
- do-not-link pairs: a merge a reviewer rejected is never proposed again;
- match models: trained parameters, versioned apart from the settings that produced them.

As in the rest of the ledger nothing is deleted: a merged-away id is retired with a
successor, a model is superseded by a new version, a pair is stored once and kept.
Every method takes (tenant, entity_type) and never reads across them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from crm_hygiene.ledger.codec import dumps, loads, utc_now
from crm_hygiene.ledger.engine import write_transaction
from crm_hygiene.ledger.schema import UtcDateTime, do_not_link, entities, entity_assignments, match_models
from crm_hygiene.ledger.staging import staged

T = TypeVar("T")

# The entity types the matcher deduplicates; a typo ("contacts") would otherwise start a
# second, empty registry silently.
ENTITY_TYPES = ("contact", "company")

# Entity ids are "E" + the issue number, zero-padded so that they sort in issue order and
# read well in a spreadsheet: E0000000001, E0000000002, ... The number counts per
# (tenant, entity_type), so the same text can name entities of two tenants: always key by
# tenant and entity type too.
ENTITY_ID_PREFIX = "E"
ENTITY_ID_DIGITS = 10

# Same batch sizes as the ledger: rows per executemany, ids per IN (...) list.
ROWS_PER_BATCH = 5_000
IDS_PER_QUERY = 500

# Column types of the staged tables `assign_entity_ids` writes from.
_NEW_ID_TYPES: dict[str, sa.types.TypeEngine] = {"entity_id": sa.String(), "seq": sa.BigInteger()}
_SUCCESSOR_TYPES: dict[str, sa.types.TypeEngine] = {"entity_id": sa.String(), "successor_id": sa.String()}
_ASSIGNMENT_TYPES: dict[str, sa.types.TypeEngine] = {"record_id": sa.String(), "entity_id": sa.String()}
_ID_TYPES: dict[str, sa.types.TypeEngine] = {"entity_id": sa.String()}

# Upper bound on successor hops followed by `resolve_entity_ids`, one query round each. A
# healthy chain is a few links long; this only stops a runaway walk.
MAX_RESOLVE_ROUNDS = 10_000


class EntityIdCycleError(ValueError):
    """Successor links of entity ids loop; the registry was edited by hand or is corrupt."""


@dataclass(frozen=True)
class StoredModel:
    """One trained version of a tenant's match model for one entity type."""

    tenant: str
    entity_type: str
    version: int
    parameters: dict[str, Any]
    settings_fingerprint: str
    trained_on: int
    metrics: dict[str, Any] | None
    created_at: datetime


def format_entity_id(seq: int) -> str:
    """The entity id issued as number `seq` (1-based) of its tenant and entity type."""
    return f"{ENTITY_ID_PREFIX}{seq:0{ENTITY_ID_DIGITS}d}"


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _require_text(value: object, name: str, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}: {name} must be a non-empty string, got {value!r}")
    # Plain str: a StrEnum member binds differently on some drivers.
    return str(value)


def _scope(tenant: object, entity_type: object, where: str) -> tuple[str, str]:
    tenant = _require_text(tenant, "tenant", where)
    kind = _require_text(entity_type, "entity_type", where)
    if kind not in ENTITY_TYPES:
        raise ValueError(f"{where}: entity_type must be one of {ENTITY_TYPES}, got {entity_type!r}")
    return tenant, kind


def _dialect_insert(connection: sa.Connection, table: sa.Table) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


# -- pure pandas helpers ---------------------------------------------------------------------


def _ordered(left: pd.Series, right: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    # Ids compared as text: the ledger stores record ids as text, candidates may carry ints.
    a = left.astype(str).to_numpy(dtype=str)
    b = right.astype(str).to_numpy(dtype=str)
    swap = a > b
    return np.where(swap, b, a), np.where(swap, a, b)


def drop_do_not_link(
    pairs: pd.DataFrame,
    do_not_link_pairs: pd.DataFrame,
    left: str = "unique_id_l",
    right: str = "unique_id_r",
) -> pd.DataFrame:
    """The candidate pairs minus those a reviewer forbade, in either order.

    `do_not_link_pairs` has columns record_id_l, record_id_r (as `do_not_link_pairs()` returns
    them; their order does not matter here either). Ids are compared as text. Rows keep their
    index, so results can be joined back to the candidate frame.
    """
    for frame, columns, name in (
        (pairs, (left, right), "pairs"),
        (do_not_link_pairs, ("record_id_l", "record_id_r"), "do_not_link_pairs"),
    ):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"drop_do_not_link: {name} lacks columns {missing}")
    if pairs.empty or do_not_link_pairs.empty:
        return pairs.copy()
    forbidden = pd.MultiIndex.from_arrays(
        _ordered(do_not_link_pairs["record_id_l"], do_not_link_pairs["record_id_r"])
    )
    candidates = pd.MultiIndex.from_arrays(_ordered(pairs[left], pairs[right]))
    return pairs.loc[~candidates.isin(forbidden)].copy()


@dataclass(frozen=True)
class _IdPlan:
    """What one `assign_entity_ids` call writes, worked out in memory before any write."""

    result: pd.DataFrame  # key, entity_id: one row per record of the run, in input order
    new_ids: pd.DataFrame  # entity_id, seq: ids to issue
    successors: pd.DataFrame  # entity_id, successor_id: ids to retire and what replaces them
    changed: pd.DataFrame  # record_id, entity_id: records whose id is new or different


def format_entity_ids(seqs: np.ndarray) -> pd.Series:
    """`format_entity_id` over an array of numbers, vectorized."""
    return ENTITY_ID_PREFIX + pd.Series(seqs, dtype="int64").astype(str).str.zfill(ENTITY_ID_DIGITS)


def _plan_entity_ids(run: pd.DataFrame, known: pd.DataFrame, next_seq: int) -> _IdPlan:
    """Apply the id rules set-based.

    run: key (record id text), cluster (int code), one row per record of this run.
    known: key, old_id, age: every record of the tenant/type that has an id; `age` orders
    the ids by issue (created_at, then seq), oldest first.
    """
    # Record ids compared through their rank in Python's string order: a group's smallest
    # key is then an integer minimum (pandas' min over text falls back to a Python loop per
    # group, which was most of a run's registry time at 200,000 records).
    run = run.assign(rank=pd.factorize(run["key"], sort=True)[0])
    frame = run.merge(known, on="key", how="left")
    held = frame[frame["old_id"].notna()]
    votes = (
        held.groupby(["cluster", "old_id"], sort=False)
        .agg(records=("rank", "size"), first_key=("rank", "min"), age=("age", "first"))
        .reset_index()
    )
    # An existing id can stay with one cluster only: the one holding most of its records
    # (tie: the cluster whose smallest record id is smallest). Records elsewhere have left it.
    votes = votes.sort_values(["old_id", "records", "first_key"], ascending=[True, False, True])
    home = votes.drop_duplicates("old_id")
    # Each cluster keeps the oldest id at home in it: issued earliest, then lowest number.
    kept = home.sort_values("age").drop_duplicates("cluster").set_index("cluster")["old_id"]

    # Clusters with no id at home get new ids, numbered in order of their smallest record id
    # so the numbering depends on the records, not on the matcher's cluster labels.
    first_key = run.groupby("cluster")["rank"].min()
    fresh = first_key[~first_key.index.isin(kept.index)].sort_values()
    seqs = np.arange(next_seq, next_seq + len(fresh), dtype="int64")
    new_ids = pd.DataFrame({"entity_id": format_entity_ids(seqs).to_numpy(dtype=object), "seq": seqs})
    cluster_ids = pd.concat([kept, pd.Series(new_ids["entity_id"].to_numpy(), index=fresh.index)])

    frame["entity_id"] = frame["cluster"].map(cluster_ids)
    # An id at home in a cluster that kept an older one is merged into it: retired, unless a
    # record absent from this run still carries it (absent records are never touched).
    home = home.assign(successor_id=home["cluster"].map(cluster_ids))
    merged = home[home["old_id"] != home["successor_id"]]
    absent = known.loc[~known["key"].isin(run["key"]), "old_id"]
    successors = merged.loc[~merged["old_id"].isin(absent), ["old_id", "successor_id"]].rename(
        columns={"old_id": "entity_id"}
    )

    changed = frame.loc[
        frame["old_id"].isna() | (frame["old_id"] != frame["entity_id"]), ["key", "entity_id"]
    ].rename(columns={"key": "record_id"})
    return _IdPlan(frame[["key", "entity_id"]], new_ids, successors, changed)


def _fetch_frame(connection: sa.Connection, query: sa.Select[Any], columns: list[str]) -> pd.DataFrame:
    """The query's rows as a frame, straight from the driver's cursor: text and integer columns
    need none of SQLAlchemy's per-row result processing (a third of the read at 200,000 rows)."""
    result = connection.execute(query)
    try:
        return pd.DataFrame(result.cursor.fetchall(), columns=columns)
    finally:
        result.close()


def _follow(start: str, successor: dict[str, str | None], resolved: dict[str, str], where: str) -> str:
    path: list[str] = []
    on_path: set[str] = set()
    current = start
    while current not in resolved:
        if current in on_path:
            loop = [*path[path.index(current) :], current]
            raise EntityIdCycleError(f"{where}: entity id successors loop: {' -> '.join(loop)}")
        on_path.add(current)
        path.append(current)
        following = successor[current]
        if following is None:
            resolved[current] = current
        else:
            current = following
    final = resolved[current]
    for step in path:
        resolved[step] = final
    return final


def _model_from_row(row: sa.Row[Any]) -> StoredModel:
    return StoredModel(
        tenant=row.tenant,
        entity_type=row.entity_type,
        version=row.version,
        parameters=loads(row.parameters),
        settings_fingerprint=row.settings_fingerprint,
        trained_on=row.trained_on,
        metrics=loads(row.metrics),
        created_at=row.created_at,
    )


class DedupRegistry:
    """The ledger's deduplication bookkeeping; reach it as `Ledger.registry`."""

    def __init__(self, engine: sa.Engine, schema: str | None = None) -> None:
        self._engine = engine
        self._schema = schema

    def _serialise(self, connection: sa.Connection, *scope: str) -> None:
        # Read-then-write steps (next id number, next model version) must not interleave for
        # one tenant and entity type. SQLite's BEGIN IMMEDIATE already serialises writers; on
        # PostgreSQL a transaction-scoped advisory lock does, without blocking other tenants.
        if connection.dialect.name != "postgresql":
            return
        text = "\x1f".join((self._schema or "", *scope))
        key = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))

    # -- entity ids --------------------------------------------------------------------------

    def assign_entity_ids(
        self, tenant: str, entity_type: str, clusters: pd.DataFrame, *, run_id: str
    ) -> pd.DataFrame:
        """Stable entity ids for this run's clusters; returns record_id, entity_id in input order.

        `clusters` has columns record_id and cluster (the matcher's label, meaningful within
        this run only). The rules:

        - every record of a cluster gets the cluster's one entity id;
        - an existing id stays with one cluster only, the one holding most of its records;
        - a cluster keeps the oldest id staying with it (issued earliest, then lowest number);
          its other ids are retired with that id as successor (a merge), unless a record
          absent from this run still carries them;
        - a cluster with no id staying with it gets a new one: records that left their
          entity (a split) and never-seen records alike;
        - records absent from this run keep their ids.

        Record ids are stored as text. One transaction; the work is done in memory (pandas)
        over all of the tenant's assignments, read in two scans, and written back with one
        statement per kind of write over a staged table (new ids, retired ids, assignments).
        """
        assigned = self._assign(tenant, entity_type, clusters, run_id=run_id)
        assert assigned is not None
        return assigned

    def assign_changed_entity_ids(
        self, tenant: str, entity_type: str, clusters: pd.DataFrame, *, run_id: str, reserved: Collection[str]
    ) -> pd.DataFrame | None:
        """`assign_entity_ids` for the clusters that may have changed (an incremental run);
        every other record counts as absent and keeps its id, and `reserved` are the ids those
        clusters hold. Only the assignments of the given records, and of every record holding
        one of their ids, are read: the rules read nothing else, so the outcome for the given
        records is the one a call with every cluster would give, provided no cluster left out
        shares an id with one given. If a given record holds a reserved id (a record merged
        away and live again, say), nothing is written and None is returned: ask again with
        every cluster.
        """
        return self._assign(tenant, entity_type, clusters, run_id=run_id, reserved=reserved, scoped=True)

    def _assign(
        self,
        tenant: str,
        entity_type: str,
        clusters: pd.DataFrame,
        *,
        run_id: str,
        scoped: bool = False,
        reserved: Collection[str] = (),
    ) -> pd.DataFrame | None:
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
            known = (
                self._known_ids_for(connection, tenant, kind, run["key"])
                if scoped
                else self._known_ids(connection, tenant, kind)
            )
            if reserved and known.loc[known["key"].isin(run["key"]), "old_id"].isin(list(reserved)).any():
                return None
            last_seq = connection.execute(
                sa.select(sa.func.coalesce(sa.func.max(entities.c.seq), 0)).where(*scope)
            ).scalar_one()
            plan = _plan_entity_ids(run[["key", "cluster"]], known, int(last_seq) + 1)
            constants = {
                "tenant": sa.literal(tenant, sa.String),
                "entity_type": sa.literal(kind, sa.String),
                "now": sa.literal(now, UtcDateTime),
                "run_id": sa.literal(run_id, sa.String),
            }
            # Each write is one statement over a staged table, whatever the number of rows.
            if not plan.new_ids.empty:
                with staged(connection, "staged_entities", plan.new_ids, _NEW_ID_TYPES) as new:
                    connection.execute(
                        sa.insert(entities).from_select(
                            ["tenant", "entity_type", "entity_id", "seq", "created_at", "created_run_id"],
                            sa.select(
                                constants["tenant"],
                                constants["entity_type"],
                                new.c.entity_id,
                                new.c.seq,
                                constants["now"],
                                constants["run_id"],
                            ),
                        )
                    )
            if not plan.successors.empty:
                with staged(
                    connection, "staged_successors", plan.successors, _SUCCESSOR_TYPES, key="entity_id"
                ) as retired:
                    # IN and a keyed lookup rather than UPDATE ... FROM: see `staging.staged`.
                    successor = (
                        sa.select(retired.c.successor_id)
                        .where(retired.c.entity_id == entities.c.entity_id)
                        .scalar_subquery()
                    )
                    connection.execute(
                        sa.update(entities)
                        .where(
                            *scope,
                            entities.c.entity_id.in_(sa.select(retired.c.entity_id)),
                            entities.c.successor_id.is_(None),
                        )
                        .values(
                            successor_id=successor,
                            retired_at=constants["now"],
                            retired_run_id=constants["run_id"],
                        )
                    )
            if not plan.changed.empty:
                with staged(connection, "staged_assignments", plan.changed, _ASSIGNMENT_TYPES) as moved:
                    upsert = _dialect_insert(connection, entity_assignments).from_select(
                        ["tenant", "entity_type", "record_id", "entity_id", "assigned_at", "run_id"],
                        sa.select(
                            constants["tenant"],
                            constants["entity_type"],
                            moved.c.record_id,
                            moved.c.entity_id,
                            constants["now"],
                            constants["run_id"],
                        )
                        # SQLite reads "SELECT ... FROM t ON CONFLICT" as a join without a WHERE.
                        .where(sa.true()),
                    )
                    connection.execute(
                        upsert.on_conflict_do_update(
                            index_elements=["tenant", "entity_type", "record_id"],
                            set_={
                                "entity_id": upsert.excluded.entity_id,
                                "assigned_at": upsert.excluded.assigned_at,
                                "run_id": upsert.excluded.run_id,
                            },
                        )
                    )
        return pd.DataFrame(
            {"record_id": run["record_id"].to_numpy(), "entity_id": plan.result["entity_id"].to_numpy()}
        )

    @staticmethod
    def _known_ids(connection: sa.Connection, tenant: str, kind: str) -> pd.DataFrame:
        """key, old_id, age: every record of the tenant and type with an id, and how old the id
        is as a number (its rank in issue order, so no timestamp is parsed per row)."""
        assigned = sa.select(
            entity_assignments.c.record_id.label("key"), entity_assignments.c.entity_id.label("old_id")
        ).where(entity_assignments.c.tenant == tenant, entity_assignments.c.entity_type == kind)
        ages = sa.select(
            entities.c.entity_id.label("old_id"),
            sa.func.rank().over(order_by=(entities.c.created_at, entities.c.seq)).label("age"),
        ).where(entities.c.tenant == tenant, entities.c.entity_type == kind)
        # Two scans joined here rather than in SQL: on PostgreSQL a run's first bulk write leaves
        # both tables without planner statistics, and the join then became a nested loop that
        # scanned every id of the tenant once per record (minutes at 200,000 records).
        keys = _fetch_frame(connection, assigned, ["key", "old_id"])
        issued = _fetch_frame(connection, ages, ["old_id", "age"])
        return keys.merge(issued, on="old_id", how="inner")

    @staticmethod
    def _known_ids_for(connection: sa.Connection, tenant: str, kind: str, keys: pd.Series) -> pd.DataFrame:
        """`_known_ids` narrowed to the records `keys` and every record holding one of their ids;
        `age` ranks those ids only (the rules compare the ages of ids met in the call alone)."""
        scope = (entity_assignments.c.tenant == tenant, entity_assignments.c.entity_type == kind)
        # IN, not a join, and no DISTINCT (it makes SQLite walk the entity-id index over the
        # whole tenant): see `staging.staged`.
        with staged(
            connection, "staged_keys", keys.to_frame("record_id"), {"record_id": sa.String()}
        ) as given:
            held = _fetch_frame(
                connection,
                sa.select(entity_assignments.c.entity_id).where(
                    *scope, entity_assignments.c.record_id.in_(sa.select(given.c.record_id))
                ),
                ["old_id"],
            ).drop_duplicates(ignore_index=True)
        if held.empty:
            return pd.DataFrame(
                {"key": pd.Series(dtype=object), "old_id": pd.Series(dtype=object), "age": []}
            )
        with staged(connection, "staged_ids", held.rename(columns={"old_id": "entity_id"}), _ID_TYPES) as ids:
            keys_of = _fetch_frame(
                connection,
                sa.select(entity_assignments.c.record_id, entity_assignments.c.entity_id).where(
                    *scope, entity_assignments.c.entity_id.in_(sa.select(ids.c.entity_id))
                ),
                ["key", "old_id"],
            )
            issued = _fetch_frame(
                connection,
                sa.select(entities.c.entity_id, entities.c.created_at, entities.c.seq).where(
                    entities.c.tenant == tenant,
                    entities.c.entity_type == kind,
                    entities.c.entity_id.in_(sa.select(ids.c.entity_id)),
                ),
                ["old_id", "created_at", "seq"],
            )
        # Issue order as `_known_ids` ranks it: created_at, then seq.
        issued = issued.sort_values(["created_at", "seq"], kind="stable")
        issued["age"] = np.arange(1, len(issued) + 1)
        return keys_of.merge(issued[["old_id", "age"]], on="old_id", how="inner")

    @staticmethod
    def _prepare_clusters(clusters: pd.DataFrame, where: str) -> pd.DataFrame:
        missing = [c for c in ("record_id", "cluster") if c not in clusters.columns]
        if missing:
            raise ValueError(f"{where}: clusters lacks columns {missing}")
        run = clusters[["record_id", "cluster"]].drop_duplicates().reset_index(drop=True)
        if run["record_id"].isna().any() or run["cluster"].isna().any():
            raise ValueError(f"{where}: clusters has empty record_id or cluster values")
        run["key"] = run["record_id"].astype(str)
        repeated = run.loc[run["key"].duplicated(), "key"]
        if not repeated.empty:
            raise ValueError(f"{where}: records in more than one cluster: {sorted(set(repeated))[:10]}")
        if (run["key"] == "").any():
            raise ValueError(f"{where}: clusters has empty record_id values")
        # Cluster labels of any type become integer codes; only their grouping matters.
        run["cluster"] = pd.factorize(run["cluster"])[0]
        return run

    def entity_ids(self, tenant: str, entity_type: str) -> pd.DataFrame:
        """Current assignments: record_id, entity_id, assigned_at (UTC), by record id."""
        tenant, kind = _scope(tenant, entity_type, f"entity ids for {tenant}/{entity_type}")
        query = (
            sa.select(
                entity_assignments.c.record_id,
                entity_assignments.c.entity_id,
                entity_assignments.c.assigned_at,
            )
            .where(entity_assignments.c.tenant == tenant, entity_assignments.c.entity_type == kind)
            .order_by(entity_assignments.c.record_id)
        )
        with self._engine.connect() as connection:
            found = pd.DataFrame(
                connection.execute(query).all(), columns=["record_id", "entity_id", "assigned_at"]
            )
        found["assigned_at"] = pd.to_datetime(found["assigned_at"], utc=True)
        # Python's order, whatever the database collation.
        return found.sort_values("record_id", kind="stable").reset_index(drop=True)

    def has_assignments(self, tenant: str, entity_type: str) -> bool:
        """Whether any record of this tenant and entity type holds an entity id."""
        tenant, kind = _scope(tenant, entity_type, f"assigned records for {tenant}/{entity_type}")
        scope = (entity_assignments.c.tenant == tenant, entity_assignments.c.entity_type == kind)
        with self._engine.connect() as connection:
            found = connection.execute(
                sa.select(entity_assignments.c.record_id).where(*scope).limit(1)
            ).first()
        return found is not None

    def assigned_records(self, tenant: str, entity_type: str) -> pd.DataFrame:
        """The records holding an entity id (record_id), with the latest assignment's time in
        `assigned_at` on every row: what an incremental run needs, without a timestamp per row."""
        tenant, kind = _scope(tenant, entity_type, f"assigned records for {tenant}/{entity_type}")
        scope = (entity_assignments.c.tenant == tenant, entity_assignments.c.entity_type == kind)
        with self._engine.connect() as connection:
            ids = connection.execute(sa.select(entity_assignments.c.record_id).where(*scope)).scalars().all()
            latest = connection.execute(
                sa.select(sa.func.max(entity_assignments.c.assigned_at)).where(*scope)
            ).scalar()
        return pd.DataFrame(
            {
                "record_id": pd.Series(ids, dtype=object),
                "assigned_at": pd.Timestamp(latest) if latest else pd.NaT,
            }
        )

    def resolve_entity_ids(self, tenant: str, entity_type: str, ids: Iterable[str]) -> dict[str, str]:
        """Each id mapped to the live id it became, following successors (A→B→C gives C).

        A live id maps to itself. Unknown ids (or ids of another tenant) raise ValueError;
        successor links that loop raise EntityIdCycleError instead of walking forever.
        """
        where = f"entity ids for {tenant}/{entity_type}"
        tenant, kind = _scope(tenant, entity_type, where)
        wanted = list(dict.fromkeys(ids))
        successor: dict[str, str | None] = {}
        frontier = wanted
        rounds = 0
        with self._engine.connect() as connection:
            # One round of queries per hop, over every chain at once.
            while frontier:
                rounds += 1
                if rounds > MAX_RESOLVE_ROUNDS:
                    raise EntityIdCycleError(f"{where}: successor chains longer than {MAX_RESOLVE_ROUNDS}")
                for batch in _batches(frontier, IDS_PER_QUERY):
                    query = sa.select(entities.c.entity_id, entities.c.successor_id).where(
                        entities.c.tenant == tenant,
                        entities.c.entity_type == kind,
                        entities.c.entity_id.in_(batch),
                    )
                    successor.update(tuple(row) for row in connection.execute(query))
                unknown = [i for i in frontier if i not in successor]
                if unknown:
                    raise ValueError(f"{where}: unknown entity ids {sorted(unknown)[:10]}")
                frontier = list(
                    dict.fromkeys(
                        following
                        for i in frontier
                        if (following := successor[i]) is not None and following not in successor
                    )
                )
        resolved: dict[str, str] = {}
        return {i: _follow(i, successor, resolved, where) for i in wanted}

    # -- do-not-link pairs -------------------------------------------------------------------

    def add_do_not_link(
        self,
        tenant: str,
        entity_type: str,
        pairs: Iterable[tuple[str, str]],
        *,
        reason: str,
        decided_by: str,
        run_id: str | None = None,
    ) -> int:
        """Record pairs that must never be linked; returns how many were new.

        (a, b) and (b, a) are one pair; a pair already stored keeps its first reason.
        """
        where = f"do-not-link pairs for {tenant}/{entity_type}"
        tenant, kind = _scope(tenant, entity_type, where)
        decided_by = _require_text(decided_by, "decided_by", where)
        if not isinstance(reason, str):
            raise ValueError(f"{where}: reason must be a string, got {reason!r}")
        now = utc_now()
        unique: dict[tuple[str, str], dict[str, Any]] = {}
        for a, b in pairs:
            a = _require_text(a, "record id", where)
            b = _require_text(b, "record id", where)
            if a == b:
                raise ValueError(f"{where}: a record cannot be kept apart from itself ({a!r})")
            low, high = (a, b) if a < b else (b, a)
            unique.setdefault(
                (low, high),
                {
                    "tenant": tenant,
                    "entity_type": kind,
                    "record_id_l": low,
                    "record_id_r": high,
                    "reason": reason,
                    "decided_by": decided_by,
                    "run_id": run_id,
                    "created_at": now,
                },
            )
        written = 0
        key = ["tenant", "entity_type", "record_id_l", "record_id_r"]
        with write_transaction(self._engine) as connection:
            statement = (
                _dialect_insert(connection, do_not_link)
                .on_conflict_do_nothing(index_elements=key)
                .returning(do_not_link.c.record_id_l)
            )
            for batch in _batches(unique.values(), ROWS_PER_BATCH):
                written += len(connection.execute(statement, batch).all())
        return written

    def do_not_link_pairs(self, tenant: str, entity_type: str) -> pd.DataFrame:
        """Forbidden pairs as record_id_l, record_id_r with record_id_l < record_id_r."""
        tenant, kind = _scope(tenant, entity_type, f"do-not-link pairs for {tenant}/{entity_type}")
        query = sa.select(do_not_link.c.record_id_l, do_not_link.c.record_id_r).where(
            do_not_link.c.tenant == tenant, do_not_link.c.entity_type == kind
        )
        with self._engine.connect() as connection:
            found = pd.DataFrame(connection.execute(query).all(), columns=["record_id_l", "record_id_r"])
        return found.sort_values(["record_id_l", "record_id_r"], kind="stable").reset_index(drop=True)

    # -- match models ------------------------------------------------------------------------

    def save_match_model(
        self,
        tenant: str,
        entity_type: str,
        parameters: dict[str, Any],
        *,
        settings_fingerprint: str,
        trained_on: int,
        metrics: dict[str, Any] | None = None,
    ) -> int:
        """Store trained parameters as the next version (1, 2, ...) and return that version.

        Parameters and metrics are opaque JSON; they come back as JSON parses them (string
        keys, lists for tuples).
        """
        where = f"match model for {tenant}/{entity_type}"
        tenant, kind = _scope(tenant, entity_type, where)
        settings_fingerprint = _require_text(settings_fingerprint, "settings_fingerprint", where)
        if not isinstance(parameters, dict):
            raise ValueError(f"{where}: parameters must be a dict, got {type(parameters).__name__}")
        if metrics is not None and not isinstance(metrics, dict):
            raise ValueError(f"{where}: metrics must be a dict or None, got {type(metrics).__name__}")
        if isinstance(trained_on, bool) or not isinstance(trained_on, int | np.integer) or trained_on < 0:
            raise ValueError(f"{where}: trained_on must be a count (int >= 0), got {trained_on!r}")
        try:
            encoded = dumps(parameters)
            encoded_metrics = None if metrics is None else dumps(metrics)
        except TypeError as exc:
            raise ValueError(f"{where}: {exc}") from None
        with write_transaction(self._engine) as connection:
            self._serialise(connection, "match_models", tenant, kind)
            latest = connection.execute(
                sa.select(sa.func.coalesce(sa.func.max(match_models.c.version), 0)).where(
                    match_models.c.tenant == tenant, match_models.c.entity_type == kind
                )
            ).scalar_one()
            version = int(latest) + 1
            connection.execute(
                sa.insert(match_models).values(
                    tenant=tenant,
                    entity_type=kind,
                    version=version,
                    parameters=encoded,
                    settings_fingerprint=settings_fingerprint,
                    trained_on=int(trained_on),
                    metrics=encoded_metrics,
                    created_at=utc_now(),
                )
            )
        return version

    def load_match_model(
        self, tenant: str, entity_type: str, version: int | None = None
    ) -> StoredModel | None:
        """The given version, or the latest when version is None; None if there is none."""
        tenant, kind = _scope(tenant, entity_type, f"match model for {tenant}/{entity_type}")
        query = sa.select(match_models).where(
            match_models.c.tenant == tenant, match_models.c.entity_type == kind
        )
        if version is None:
            query = query.order_by(match_models.c.version.desc()).limit(1)
        else:
            query = query.where(match_models.c.version == version)
        with self._engine.connect() as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else _model_from_row(row)

    def match_model_versions(self, tenant: str, entity_type: str) -> list[StoredModel]:
        """Every stored version, oldest first."""
        tenant, kind = _scope(tenant, entity_type, f"match model for {tenant}/{entity_type}")
        query = (
            sa.select(match_models)
            .where(match_models.c.tenant == tenant, match_models.c.entity_type == kind)
            .order_by(match_models.c.version)
        )
        with self._engine.connect() as connection:
            return [_model_from_row(row) for row in connection.execute(query)]
