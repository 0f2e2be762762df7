"""Candidate pairs of one tenant: scored with the stored model, full or incremental, explained.

Incremental runs. When the previous run's pairs (same model version, same policy) and entity
ids exist, only records that are new or changed are scored, with `predict.predict_new`
against all live records; the previous pairs among unchanged records are carried over, so
clusters and proposals see the same pair set a full run would (up to term frequencies, which
move a little as records arrive). "New or changed" (`records_to_rescore`) is kept simple: a
record without an entity id in the registry is new; a record is changed when its `version`
differs from the one the previous run's cluster table recorded (or it is missing there, say
unmerged since). Every store bumps the version on each write, our own merges included, so
this misses no edit. Without that table, `updated_at` later than the registry's last
assignment counts as changed instead. `full=True` scores every pair.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from crm_hygiene.ledger import Ledger, drop_do_not_link
from crm_hygiene.ledger.registry import DedupRegistry
from crm_hygiene.matching.decisions import bands
from crm_hygiene.matching.explain import explain
from crm_hygiene.matching.model_store import ModelChoice, model_for
from crm_hygiene.matching.predict import cluster, empty_pairs, pair_columns, predict_new, predict_pairs
from crm_hygiene.matching.records import ENTITIES, EntityRecords, Progress, quiet
from crm_hygiene.model.records import Entity
from crm_hygiene.policy.load import policy_hash
from crm_hygiene.policy.schema import Policy


@dataclass
class CandidatePairs:
    """One entity's candidate pairs of a run and how they were found."""

    entity: Entity
    pairs: pd.DataFrame
    model: ModelChoice
    mode: str  # "full", "incremental" or "skipped"
    live_records: int
    scored_records: int
    carried_pairs: int = 0
    dropped_do_not_link: int = 0
    note: str = ""
    policy: Policy = field(default_factory=Policy)

    def bands(self) -> dict[str, int]:
        """Pairs per probability band (the last band is what auto-merge may act on)."""
        p = self.pairs["match_probability"].to_numpy(dtype=float)
        return {name: int(((p >= low) & (p < high)).sum()) for name, low, high in bands(self.policy.merge)}


def pairs_table_columns(entity: Entity) -> list[str]:
    """Columns of a stored candidate pair table: Splink's scores, the explanation, provenance."""
    return [*pair_columns(entity), "explanation", "model_version", "policy_version", "carried"]


def empty_pair_table(entity: Entity) -> pd.DataFrame:
    frame = empty_pairs(entity)
    frame["explanation"] = pd.Series([], dtype=object)
    frame["model_version"] = pd.Series([], dtype="Int64")
    frame["policy_version"] = pd.Series([], dtype=object)
    frame["carried"] = pd.Series([], dtype=bool)
    return frame


def records_to_rescore(
    live: pd.DataFrame, assignments: pd.DataFrame, previous_clusters: pd.DataFrame | None = None
) -> pd.Series:
    """Per live record, whether an incremental run scores it again (see the module docstring).

    `assignments` is `DedupRegistry.entity_ids(...)` (record_id, entity_id, assigned_at);
    `previous_clusters` the previous run's `cluster_records` table (record_id, version).
    """
    ids = live["id"].astype(str)
    if assignments.empty:
        return pd.Series(True, index=live.index)
    new = ~ids.isin(assignments["record_id"].astype(str))
    if _has_versions(previous_clusters):
        return new | changed_since_clusters(live, previous_clusters)
    if "updated_at" not in live.columns:
        return new
    updated = pd.to_datetime(live["updated_at"], utc=True, errors="coerce")
    return new | (updated > assignments["assigned_at"].max()).fillna(False).astype(bool)


def _has_versions(previous_clusters: pd.DataFrame | None) -> bool:
    return previous_clusters is not None and {"record_id", "version"} <= set(previous_clusters.columns)


def changed_since_clusters(live: pd.DataFrame, previous_clusters: pd.DataFrame) -> pd.Series:
    """Per live record, whether it is new or at another version than the previous run clustered.

    Every record the previous run clustered got an entity id then, so a record without one is
    also missing here: this alone decides what an incremental run scores again, without
    reading every assignment from the ledger."""
    ids = live["id"].astype(str)
    seen = previous_clusters.set_index(previous_clusters["record_id"].astype(str))["version"]
    before = pd.to_numeric(ids.map(seen), errors="coerce")
    now = pd.to_numeric(live["version"], errors="coerce")
    return (before.isna() | now.isna() | (before != now)).astype(bool)


def company_links(
    company_ids: Iterable[object], company_pairs: pd.DataFrame, auto_merge_threshold: float
) -> dict[str, str]:
    """Company records that the auto-merge threshold puts together, each mapped to its cluster's
    label (the smallest id). Contacts are matched with their `company_id` read through it."""
    ids = pd.Series(list(company_ids), dtype=object).astype(str)
    if company_pairs.empty or ids.empty:
        return {}
    clusters = cluster(ids, within(company_pairs, set(ids)), auto_merge_threshold)
    moved = clusters[clusters["record_id"] != clusters["cluster"]]
    return dict(zip(moved["record_id"], moved["cluster"], strict=True))


def repoint(frame: pd.DataFrame, column: str, mapping: Mapping[str, str]) -> pd.DataFrame:
    """A copy of `frame` whose `column` values are replaced through `mapping` where present."""
    if not mapping or column not in frame.columns or frame.empty:
        return frame
    out = frame.copy()
    values = out[column]
    mapped = values.map(lambda v: mapping.get(str(v)) if v is not None and v == v else None)
    out[column] = values.where(mapped.isna(), mapped)
    return out


def within(pairs: pd.DataFrame, ids: set[str]) -> pd.DataFrame:
    """Pairs whose two records are both in `ids` (a stored table may name records since merged)."""
    if pairs.empty:
        return pairs
    keep = pairs["unique_id_l"].astype(str).isin(ids) & pairs["unique_id_r"].astype(str).isin(ids)
    return pairs[keep]


def find_candidate_pairs(
    ledger: Ledger,
    tenant: str,
    records: EntityRecords,
    *,
    previous: pd.DataFrame | None = None,
    previous_clusters: pd.DataFrame | None = None,
    full: bool = False,
    retrain: bool = False,
    links: Mapping[str, str] | None = None,
    policy: Policy | None = None,
    progress: Progress = quiet,
    rescore_also: Iterable[str] | None = None,
) -> CandidatePairs:
    """Score one entity's candidate pairs (full or incremental), explain them, drop do-not-link pairs.

    `previous` and `previous_clusters` are the pair and cluster tables of the last run (for
    incremental matching); `links` re-points contacts' `company_id` (see `company_links`).
    Pairs below the policy's review threshold are not kept.
    """
    policy = policy or Policy()
    version = policy_hash(policy)
    floor = policy.merge.review_threshold
    entity = records.entity
    registry = ledger.registry
    normalized = repoint(records.normalized, "company_id", links or {}) if entity is Entity.CONTACT else None
    if normalized is not None:
        records = EntityRecords(entity, records.snapshot, normalized, records.changed_at)
    live = records.live()
    choice = model_for(
        registry,
        tenant,
        entity,
        records.normalized,
        retrain=retrain,
        min_records=policy.merge.min_training_records,
    )
    progress(f"dedupe {tenant}/{entity.value}: model: {choice.note}")
    if choice.model is None:
        return CandidatePairs(
            entity, empty_pair_table(entity), choice, "skipped", len(live), 0, note=choice.note, policy=policy
        )
    model = choice.model

    incremental, rescore, note = _incremental_plan(
        registry, tenant, entity, live, previous, previous_clusters, choice, full, version, rescore_also
    )
    if incremental:
        assert previous is not None and rescore is not None
        again = set(live.loc[rescore, "id"].astype(str))
        carried = within(previous, set(live["id"].astype(str)))
        carried = carried[
            ~carried["unique_id_l"].astype(str).isin(again) & ~carried["unique_id_r"].astype(str).isin(again)
        ]
        carried = carried[pairs_table_columns(entity)].assign(carried=True)
        fresh = (
            predict_new(entity, live[~rescore], live[rescore], model, floor)
            if rescore.any()
            else empty_pairs(entity)
        )
        scored = int(rescore.sum())
    else:
        carried = empty_pair_table(entity)
        fresh = predict_pairs(entity, live, model, threshold=floor) if len(live) >= 2 else empty_pairs(entity)
        scored = len(live)
    fresh = fresh.assign(
        explanation=explain(fresh, model), model_version=choice.version, policy_version=version, carried=False
    )
    parts = [p for p in (fresh, carried) if not p.empty]
    combined = pd.concat(parts, ignore_index=True) if parts else empty_pair_table(entity)
    # Fresh scores first: a pair both carried and scored again keeps its new score.
    combined = combined.drop_duplicates(["unique_id_l", "unique_id_r"], keep="first")
    kept = drop_do_not_link(combined, registry.do_not_link_pairs(tenant, entity.value))
    pairs = kept.sort_values(["unique_id_l", "unique_id_r"], kind="stable").reset_index(drop=True)
    pairs["model_version"] = pairs["model_version"].astype("Int64")
    pairs["carried"] = pairs["carried"].astype(bool)
    result = CandidatePairs(
        entity,
        pairs[pairs_table_columns(entity)],
        choice,
        "incremental" if incremental else "full",
        live_records=len(live),
        scored_records=scored,
        carried_pairs=int(pairs["carried"].sum()),
        dropped_do_not_link=len(combined) - len(kept),
        note=note,
        policy=policy,
    )
    progress(
        f"dedupe {tenant}/{entity.value}: {result.mode} ({note}): {scored} of {len(live)} records scored, "
        f"{len(pairs)} candidate pairs"
    )
    return result


def _incremental_plan(
    registry: DedupRegistry,
    tenant: str,
    entity: Entity,
    live: pd.DataFrame,
    previous: pd.DataFrame | None,
    previous_clusters: pd.DataFrame | None,
    choice: ModelChoice,
    full: bool,
    policy_version: str,
    rescore_also: Iterable[str] | None = None,
) -> tuple[bool, pd.Series | None, str]:
    """Whether this run may score only new and changed records, which, and why (or why not).

    `rescore_also`: records whose match input changed with their version unchanged (a contact
    normalized again because its company's country changed)."""
    if full:
        return False, None, "full run asked"
    if choice.trained_now:
        return False, None, "model trained this run"
    if previous is None or previous.empty or "model_version" not in previous.columns:
        return False, None, "no pairs from a previous run"
    versions = set(previous["model_version"].dropna().astype(int).unique().tolist())
    if versions != {choice.version}:
        return False, None, f"previous pairs scored by model version(s) {sorted(versions)}"
    # A policy change can move the review threshold, below which pairs were never kept.
    judged = set(previous["policy_version"].dropna()) if "policy_version" in previous.columns else set()
    if judged != {policy_version}:
        return False, None, "policy changed since the previous pairs"
    if _has_versions(previous_clusters):
        # The previous clusters hold every record the registry gave an id, with its version.
        assert previous_clusters is not None
        if not registry.has_assignments(tenant, entity.value):
            return False, None, "no entity ids from a previous run"
        rescore = changed_since_clusters(live, previous_clusters)
    else:
        assignments = registry.assigned_records(tenant, entity.value)
        if assignments.empty:
            return False, None, "no entity ids from a previous run"
        rescore = records_to_rescore(live, assignments, previous_clusters)
    if rescore_also is not None:
        rescore = rescore | live["id"].astype(str).isin(set(rescore_also)).to_numpy()
    if 2 * int(rescore.sum()) > len(live):
        return False, None, f"{int(rescore.sum())} of {len(live)} records new or changed"
    return True, rescore, f"{int(rescore.sum())} new or changed records"


def tenant_candidate_pairs(
    ledger: Ledger,
    tenant: str,
    records: Mapping[Entity, EntityRecords],
    *,
    previous: Mapping[Entity, pd.DataFrame | None] | None = None,
    previous_clusters: Mapping[Entity, pd.DataFrame | None] | None = None,
    full: bool = False,
    policy: Policy | None = None,
    progress: Progress = quiet,
    rescore_also: Mapping[Entity, Iterable[str]] | None = None,
) -> dict[Entity, CandidatePairs]:
    """Candidate pairs of every entity, companies first so contacts see the company clusters."""
    previous = previous or {}
    previous_clusters = previous_clusters or {}
    out: dict[Entity, CandidatePairs] = {}
    links: dict[str, str] = {}
    for entity in ENTITIES:
        if entity not in records:
            continue
        out[entity] = find_candidate_pairs(
            ledger,
            tenant,
            records[entity],
            previous=previous.get(entity),
            previous_clusters=previous_clusters.get(entity),
            full=full,
            links=links if entity is Entity.CONTACT else None,
            policy=policy,
            progress=progress,
            rescore_also=(rescore_also or {}).get(entity),
        )
        if entity is Entity.COMPANY:
            threshold = (policy or Policy()).merge.auto_merge_threshold
            links = company_links(records[entity].live()["id"], out[entity].pairs, threshold)
    return out
