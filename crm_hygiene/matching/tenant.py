"""Deduplication of one tenant, step by step: model, candidate pairs, clusters, merge proposals.

Each step is a plain function, so the Dagster assets call them one at a time and a notebook
or test can call `dedupe_tenant` for all of them. Per entity type (contact, company):

1. `model_for`: the tenant's stored model from the ledger; one is trained and stored as a
   new version when there is none or the settings fingerprint changed (`train_and_store`
   does it on demand). Fewer than `MIN_TRAINING_RECORDS` live records, or data Splink cannot
   train on, leave the entity unmatched for the run with the reason, never a failed run.
2. `find_candidate_pairs`: pairs at or above `REVIEW_THRESHOLD` with their explanation in
   words, minus do-not-link pairs. Full, or incremental (below).
3. `cluster_records`: connected components at `AUTO_MERGE_THRESHOLD` and at
   `REVIEW_THRESHOLD`; the auto clusters get stable entity ids from the ledger's registry.
4. `build_merge_proposals`: per review cluster, survivorship (`survivorship.plan_merges`)
   picks the survivor and the merged field values; one row per (cluster, loser) with the
   evidence and a decision. `auto` only when every scored pair inside the cluster is at or
   above the auto-merge threshold, the cluster holds no do-not-link pair, all its records
   belong to the tenant, it is at most `MAX_AUTO_CLUSTER_SIZE` records, and no person undid
   one of its merges before; otherwise `review`. A do-not-link pair is never proposed.

Companies go first: a contact's `company_id` is read through the company clusters (for
matching: two contacts at duplicate company records are at the same company) and through the
company merges decided `auto` (for survivorship: the value a contact keeps points at the
surviving company, which is where the store's merge re-points it).

Incremental runs. When the previous run's pairs (same model version) and entity ids exist,
only records that are new or changed are scored, with `predict.predict_new` against all
live records; the previous pairs among unchanged records are carried over, so clusters and
proposals see the same pair set a full run would (up to term frequencies, which move a little
as records arrive). "New or changed" (`records_to_rescore`) is kept simple: a record without
an entity id in the registry is new; a record is changed when its `version` differs from the
one the previous run's cluster table recorded (or it is missing there, say unmerged since).
Every store bumps the version on each write, our own merges included, so this misses no
edit. Without that table, `updated_at` later than the registry's last assignment counts as
changed instead (coarser: such records are scored again until a run assigns new ids).
`full=True` scores every pair.

Reviewers teach the matcher: `learn_from_reviews` turns rejected merge proposals into
do-not-link pairs before pairs are scored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from splink.internals.exceptions import SplinkException

from crm_hygiene.ledger import (
    ChangeKind,
    DecisionKind,
    Ledger,
    ProposalStatus,
    drop_do_not_link,
    make_change_id,
)
from crm_hygiene.ledger.registry import DedupRegistry
from crm_hygiene.matching.explain import explain
from crm_hygiene.matching.inputs import is_match_input, match_input
from crm_hygiene.matching.model import DEFAULT_MAX_PAIRS, TrainedModel, train
from crm_hygiene.matching.predict import (
    AUTO_MERGE_THRESHOLD,
    REVIEW_THRESHOLD,
    cluster,
    empty_pairs,
    pair_columns,
    predict_new,
    predict_pairs,
)
from crm_hygiene.matching.settings import settings_fingerprint
from crm_hygiene.matching.survivorship import SurvivorshipPolicy, plan_merges
from crm_hygiene.model.records import Entity, Status

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

# Companies before contacts: contact matching and survivorship read the company merges.
ENTITIES: tuple[Entity, ...] = (Entity.COMPANY, Entity.CONTACT)

# Below this many live records there are too few pairs to estimate m and u from; a model
# trained on them would merge on noise. A tenant that small gets no model and no merges
# until it grows (or a model is trained on purpose with `train_and_store`).
MIN_TRAINING_RECORDS = 50

# A cluster this large merged unseen would be a disaster if one link were wrong; chains of
# near-certain pairs that long are rare in real CRMs, so a person looks at them.
MAX_AUTO_CLUSTER_SIZE = 10

# Names the rules that judged a merge (thresholds, decision rules above); bump it when they change.
DEDUPE_POLICY_VERSION = f"dedupe-1:auto>={AUTO_MERGE_THRESHOLD},review>={REVIEW_THRESHOLD}"

AUTO = "auto"
REVIEW = "review"

BANDS: tuple[tuple[str, float, float], ...] = (
    ("0.50-0.80", REVIEW_THRESHOLD, 0.8),
    ("0.80-0.95", 0.8, 0.95),
    ("0.95-0.99", 0.95, AUTO_MERGE_THRESHOLD),
    ("0.99-1.00", AUTO_MERGE_THRESHOLD, 1.0 + 1e-12),
)

CLUSTER_COLUMNS: tuple[str, ...] = (
    "record_id",
    "entity_id",
    "auto_cluster",
    "auto_size",
    "review_cluster",
    "review_size",
    "version",
)

PROPOSAL_COLUMNS: tuple[str, ...] = (
    "change_id",
    "tenant",
    "entity",
    "cluster",
    "entity_id",
    "survivor_id",
    "loser_id",
    "cluster_size",
    "match_probability",
    "weakest_probability",
    "explanation",
    "evidence_pair",
    "decision",
    "reason",
    "field_values",
    "survivor_version",
    "loser_version",
    "model_version",
    "policy_version",
)


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class EntityRecords:
    """One entity's records of a tenant: the typed snapshot and the normalized frame.

    The pair step needs only `id` and `updated_at` of the snapshot; survivorship needs all of it.
    """

    entity: Entity
    snapshot: pd.DataFrame
    normalized: pd.DataFrame

    def live(self) -> pd.DataFrame:
        """Normalized rows of records not merged away, with the snapshot's `updated_at`."""
        frame = self.normalized
        live = frame[frame["status"].astype(object) != Status.MERGED.value].copy()
        if "updated_at" in self.snapshot.columns and "updated_at" not in live.columns:
            updated = self.snapshot.set_index(self.snapshot["id"].astype(str))["updated_at"]
            live["updated_at"] = live["id"].astype(str).map(updated)
        return live.reset_index(drop=True)


# --- the model ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelChoice:
    """The model an entity is matched with in this run, or None and why."""

    entity: Entity
    model: TrainedModel | None
    version: int | None
    trained_now: bool = False
    note: str = ""


def train_and_store(
    registry: DedupRegistry,
    tenant: str,
    entity: Entity,
    normalized: pd.DataFrame,
    *,
    reason: str = "asked",
    max_pairs: int = DEFAULT_MAX_PAIRS,
) -> ModelChoice:
    """Train on the tenant's records and store the parameters as the next model version.

    Raises what training raises (ValueError for fewer than two records, Splink's errors for
    data it cannot learn from): a person asked for this model and should see why it failed.
    """
    entity = Entity(entity)
    # Merged-away records take part: each is a known duplicate of its survivor (see match_input).
    inputs = (
        normalized
        if is_match_input(entity, normalized)
        else match_input(entity, normalized, include_merged=True)
    )
    model = train(entity, inputs, max_pairs=max_pairs)
    version = registry.save_match_model(
        tenant,
        entity.value,
        model.to_dict(),
        settings_fingerprint=model.settings_fingerprint,
        trained_on=int(model.metadata["records"]),
        metrics={
            "untrained_levels": len(model.metadata.get("untrained_levels", [])),
            "seconds": model.metadata.get("seconds"),
        },
    )
    note = f"trained and stored version {version} on {model.metadata['records']} records ({reason})"
    logger.warning("match model %s/%s: %s", tenant, entity.value, note)
    return ModelChoice(entity, model, version, trained_now=True, note=note)


def model_for(
    registry: DedupRegistry,
    tenant: str,
    entity: Entity,
    normalized: pd.DataFrame,
    *,
    retrain: bool = False,
    min_records: int = MIN_TRAINING_RECORDS,
    max_pairs: int = DEFAULT_MAX_PAIRS,
) -> ModelChoice:
    """The stored model, or a new one trained and stored when none fits (see the module docstring)."""
    entity = Entity(entity)
    stored = registry.load_match_model(tenant, entity.value)
    expected = settings_fingerprint(entity)
    if retrain:
        reason = "retraining asked"
    elif stored is None:
        reason = "no stored model"
    elif stored.settings_fingerprint != expected:
        reason = (
            f"settings changed since version {stored.version} ({stored.settings_fingerprint} -> {expected})"
        )
    else:
        try:
            model = TrainedModel.from_dict(stored.parameters)
        except (KeyError, TypeError, ValueError) as exc:
            reason = f"stored version {stored.version} is unreadable ({exc})"
        else:
            return ModelChoice(entity, model, stored.version, note=f"stored version {stored.version}")
    live = int((normalized["status"].astype(object) != Status.MERGED.value).sum()) if len(normalized) else 0
    if live < min_records:
        note = f"{reason}; {live} live records are too few to train on (at least {min_records})"
        logger.warning("match model %s/%s: %s: not matched this run", tenant, entity.value, note)
        return ModelChoice(entity, None, None, note=note)
    try:
        return train_and_store(registry, tenant, entity, normalized, reason=reason, max_pairs=max_pairs)
    except (SplinkException, ValueError) as exc:
        note = f"{reason}; training failed: {str(exc).splitlines()[0][:300]}"
        logger.warning("match model %s/%s: %s: not matched this run", tenant, entity.value, note)
        return ModelChoice(entity, None, None, note=note)


# --- what reviewers decided -----------------------------------------------------------------------


def learn_from_reviews(ledger: Ledger, tenant: str) -> int:
    """Turn merge proposals a reviewer rejected into do-not-link pairs; returns how many are new.

    A rejected proposal moves to status `rejected`, so each decision is learned once.
    """
    # Queued for review, or sent there by a conflict: either can be rejected by a reviewer.
    queued = [
        p
        for status in (ProposalStatus.QUEUED, ProposalStatus.CONFLICT)
        for p in ledger.proposals(tenant, status=status)
        if p.kind is ChangeKind.MERGE and p.field == "merged_into" and p.new_value
    ]
    if not queued:
        return 0
    decided = ledger.latest_decisions(p.change_id for p in queued)
    added = 0
    rejected = []
    for proposal in queued:
        decision = decided.get(proposal.change_id)
        if decision is None or decision.decision is not DecisionKind.REJECT:
            continue
        added += ledger.registry.add_do_not_link(
            tenant,
            proposal.entity,
            [(proposal.record_id, str(proposal.new_value))],
            reason=decision.note or "merge rejected in review",
            decided_by=decision.decided_by,
            run_id=proposal.run_id,
        )
        rejected.append(proposal.change_id)
    ledger.set_status(rejected, ProposalStatus.REJECTED)
    return added


# --- candidate pairs ------------------------------------------------------------------------------


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

    def bands(self) -> dict[str, int]:
        """Pairs per probability band (the last band is what auto-merge may act on)."""
        p = self.pairs["match_probability"].to_numpy(dtype=float)
        return {name: int(((p >= low) & (p < high)).sum()) for name, low, high in BANDS}


def pairs_table_columns(entity: Entity) -> list[str]:
    """Columns of a stored candidate pair table: Splink's scores, the explanation, provenance."""
    return [*pair_columns(entity), "explanation", "model_version", "carried"]


def empty_pair_table(entity: Entity) -> pd.DataFrame:
    frame = empty_pairs(entity)
    frame["explanation"] = pd.Series([], dtype=object)
    frame["model_version"] = pd.Series([], dtype="Int64")
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
    if previous_clusters is not None and {"record_id", "version"} <= set(previous_clusters.columns):
        seen = previous_clusters.set_index(previous_clusters["record_id"].astype(str))["version"]
        before = pd.to_numeric(ids.map(seen), errors="coerce")
        now = pd.to_numeric(live["version"], errors="coerce")
        changed = before.isna() | now.isna() | (before != now)
        return new | changed.astype(bool)
    if "updated_at" not in live.columns:
        return new
    updated = pd.to_datetime(live["updated_at"], utc=True, errors="coerce")
    return new | (updated > assignments["assigned_at"].max()).fillna(False).astype(bool)


def company_links(company_ids: Iterable[object], company_pairs: pd.DataFrame) -> dict[str, str]:
    """Company records that the auto-merge threshold puts together, each mapped to its cluster's
    label (the smallest id). Contacts are matched with their `company_id` read through it."""
    ids = pd.Series(list(company_ids), dtype=object).astype(str)
    if company_pairs.empty or ids.empty:
        return {}
    clusters = cluster(ids, _within(company_pairs, set(ids)), AUTO_MERGE_THRESHOLD)
    moved = clusters[clusters["record_id"] != clusters["cluster"]]
    return dict(zip(moved["record_id"], moved["cluster"], strict=True))


def _repoint(frame: pd.DataFrame, column: str, mapping: Mapping[str, str]) -> pd.DataFrame:
    """A copy of `frame` whose `column` values are replaced through `mapping` where present."""
    if not mapping or column not in frame.columns or frame.empty:
        return frame
    out = frame.copy()
    values = out[column]
    mapped = values.map(lambda v: mapping.get(str(v)) if v is not None and v == v else None)
    out[column] = values.where(mapped.isna(), mapped)
    return out


def _within(pairs: pd.DataFrame, ids: set[str]) -> pd.DataFrame:
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
    progress: Progress = _quiet,
) -> CandidatePairs:
    """Score one entity's candidate pairs (full or incremental), explain them, drop do-not-link pairs.

    `previous` and `previous_clusters` are the pair and cluster tables of the last run (for
    incremental matching); `links` re-points contacts' `company_id` (see `company_links`).
    """
    entity = records.entity
    registry = ledger.registry
    normalized = _repoint(records.normalized, "company_id", links or {}) if entity is Entity.CONTACT else None
    if normalized is not None:
        records = EntityRecords(entity, records.snapshot, normalized)
    live = records.live()
    choice = model_for(registry, tenant, entity, records.normalized, retrain=retrain)
    progress(f"dedupe {tenant}/{entity.value}: model: {choice.note}")
    if choice.model is None:
        return CandidatePairs(
            entity, empty_pair_table(entity), choice, "skipped", len(live), 0, note=choice.note
        )
    model = choice.model

    incremental, rescore, note = _incremental_plan(
        registry, tenant, entity, live, previous, previous_clusters, choice, full
    )
    if incremental:
        assert previous is not None and rescore is not None
        again = set(live.loc[rescore, "id"].astype(str))
        carried = _within(previous, set(live["id"].astype(str)))
        carried = carried[
            ~carried["unique_id_l"].astype(str).isin(again) & ~carried["unique_id_r"].astype(str).isin(again)
        ]
        carried = carried[pairs_table_columns(entity)].assign(carried=True)
        fresh = (
            predict_new(entity, live[~rescore], live[rescore], model)
            if rescore.any()
            else empty_pairs(entity)
        )
        scored = int(rescore.sum())
    else:
        carried = empty_pair_table(entity)
        fresh = predict_pairs(entity, live, model) if len(live) >= 2 else empty_pairs(entity)
        scored = len(live)
    fresh = fresh.assign(explanation=explain(fresh, model), model_version=choice.version, carried=False)
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
) -> tuple[bool, pd.Series | None, str]:
    """Whether this run may score only new and changed records, which, and why (or why not)."""
    if full:
        return False, None, "full run asked"
    if choice.trained_now:
        return False, None, "model trained this run"
    if previous is None or previous.empty or "model_version" not in previous.columns:
        return False, None, "no pairs from a previous run"
    versions = set(previous["model_version"].dropna().astype(int).unique().tolist())
    if versions != {choice.version}:
        return False, None, f"previous pairs scored by model version(s) {sorted(versions)}"
    assignments = registry.entity_ids(tenant, entity.value)
    if assignments.empty:
        return False, None, "no entity ids from a previous run"
    rescore = records_to_rescore(live, assignments, previous_clusters)
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
    progress: Progress = _quiet,
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
            progress=progress,
        )
        if entity is Entity.COMPANY:
            links = company_links(records[entity].live()["id"], out[entity].pairs)
    return out


# --- clusters -------------------------------------------------------------------------------------


def cluster_records(
    registry: DedupRegistry,
    tenant: str,
    entity: Entity,
    live: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    run_id: str,
) -> pd.DataFrame:
    """Every live record (`live`: id, version) with its auto and review cluster (label and
    size), its stable entity id and the version it was clustered at (for the next incremental run).

    Entity ids follow the auto clusters: records the matcher is sure of are one entity; a
    review cluster is only a question until someone answers it.
    """
    ids = live["id"].astype(str).reset_index(drop=True)
    pairs = _within(pairs, set(ids))
    auto = cluster(ids, pairs, AUTO_MERGE_THRESHOLD).rename(columns={"cluster": "auto_cluster"})
    review = cluster(ids, pairs, REVIEW_THRESHOLD).rename(columns={"cluster": "review_cluster"})
    frame = auto.merge(review, on="record_id", how="left")
    assigned = registry.assign_entity_ids(
        tenant, Entity(entity).value, auto.rename(columns={"auto_cluster": "cluster"}), run_id=run_id
    )
    frame = frame.merge(assigned, on="record_id", how="left")
    for level in ("auto", "review"):
        frame[f"{level}_size"] = (
            frame.groupby(f"{level}_cluster")["record_id"].transform("size").astype("int64")
        )
    version = live["version"] if "version" in live.columns else pd.Series(pd.NA, index=live.index)
    frame["version"] = frame["record_id"].map(pd.Series(version.to_numpy(), index=ids)).astype("Int64")
    frame = frame.sort_values("record_id", kind="stable").reset_index(drop=True)
    return frame[list(CLUSTER_COLUMNS)].astype({"auto_size": "int64", "review_size": "int64"})


def cluster_summary(clusters: pd.DataFrame) -> dict[str, int]:
    """Counts a data engineer reads: clusters of two or more records, at each threshold."""
    out: dict[str, int] = {}
    for level in ("review", "auto"):
        multi = clusters[clusters[f"{level}_size"] >= 2]
        name = "clusters" if level == "review" else "auto_clusters"
        out[name] = int(multi[f"{level}_cluster"].nunique())
        out[f"records_in_{name}"] = len(multi)
    out["largest_cluster"] = int(clusters["review_size"].max()) if len(clusters) else 0
    out["entity_ids"] = int(clusters["entity_id"].nunique())
    return out


# --- merge proposals ------------------------------------------------------------------------------


def empty_proposals() -> pd.DataFrame:
    floats = {"match_probability", "weakest_probability"}
    ints = {"cluster_size", "survivor_version", "loser_version", "model_version"}
    return pd.DataFrame(
        {
            c: pd.Series([], dtype="float64" if c in floats else "Int64" if c in ints else object)
            for c in PROPOSAL_COLUMNS
        }
    )


def merge_change_id(tenant: str, entity: Entity | str, survivor_id: str, loser_id: str) -> str:
    """The change id of a merge: that of its defining write, the loser's `merged_into`.

    The audited writer derives the same id for the same merge, so a proposal, its review item
    and the merge applied later are one change in the ledger.
    """
    return make_change_id(
        tenant, Entity(entity).value, loser_id, "merged_into", survivor_id, ChangeKind.MERGE
    )


def build_merge_proposals(
    tenant: str,
    records: EntityRecords,
    pairs: pd.DataFrame,
    clusters: pd.DataFrame,
    *,
    do_not_link: pd.DataFrame | None = None,
    company_survivors: Mapping[str, str] | None = None,
    policy: SurvivorshipPolicy | None = None,
) -> pd.DataFrame:
    """One row per (review cluster, loser): survivor, evidence, field values and decision.

    `company_survivors` maps merged-away company ids to their survivors for the contact plan
    (the store re-points contacts the same way when the company merge is applied).
    """
    entity = records.entity
    multi = clusters[clusters["review_size"] >= 2]
    if multi.empty:
        return empty_proposals()
    snapshot = records.snapshot
    normalized = records.normalized
    if entity is Entity.CONTACT and company_survivors:
        snapshot = _repoint(snapshot, "company_id", company_survivors)
        normalized = _repoint(normalized, "company_id", company_survivors)
    members = multi[["record_id", "review_cluster"]].rename(columns={"review_cluster": "cluster"})
    members = members[members["record_id"].isin(snapshot["id"].astype(str))]
    plan = plan_merges(snapshot, members, policy, normalized=normalized)
    if plan.survivors.empty:
        return empty_proposals()

    rows = plan.survivors.explode("loser_ids").rename(
        columns={"loser_ids": "loser_id", "size": "cluster_size"}
    )
    rows = rows.reset_index(drop=True)
    inside = _pairs_inside(pairs, members)
    rows = _evidence(rows, inside)

    dnl = do_not_link if do_not_link is not None else pd.DataFrame(columns=["record_id_l", "record_id_r"])
    forbidden = _as_pair_keys(dnl["record_id_l"], dnl["record_id_r"]) if len(dnl) else set()
    pair_key = list(zip(*_ordered(rows["survivor_id"], rows["loser_id"]), strict=True))
    rows = rows[[k not in forbidden for k in pair_key]].reset_index(drop=True)
    if rows.empty:
        return empty_proposals()

    tenant_of = snapshot.set_index(snapshot["id"].astype(str))["tenant"].astype(object)
    version_of = snapshot.set_index(snapshot["id"].astype(str))["version"]
    entity_of = clusters.set_index("record_id")["entity_id"]
    weakest = inside.groupby("cluster")["match_probability"].min()
    rows["weakest_probability"] = rows["cluster"].map(weakest).astype(float)
    rows["entity_id"] = rows["survivor_id"].map(entity_of)
    rows["survivor_version"] = rows["survivor_id"].map(version_of).astype("Int64")
    rows["loser_version"] = rows["loser_id"].map(version_of).astype("Int64")

    foreign = (rows["survivor_id"].map(tenant_of) != tenant) | (rows["loser_id"].map(tenant_of) != tenant)
    reasons = _reasons(
        [
            (rows["cluster_size"] > MAX_AUTO_CLUSTER_SIZE, "cluster too large to merge unseen"),
            (
                ~(rows["weakest_probability"] >= AUTO_MERGE_THRESHOLD),
                "a pair in the cluster scores below the auto-merge threshold",
            ),
            (rows["cluster"].isin(_clusters_holding(dnl, members)), "the cluster holds a do-not-link pair"),
            (foreign, "records of another tenant"),
        ]
    )
    rows["decision"] = np.where(reasons == "", AUTO, REVIEW)
    rows["reason"] = np.where(
        reasons == "", "every pair in the cluster at or above the auto-merge threshold", reasons
    )

    rows["field_values"] = _field_values(rows, plan.fields, snapshot)
    rows["change_id"] = [
        merge_change_id(tenant, entity, s, loser)
        for s, loser in zip(rows["survivor_id"], rows["loser_id"], strict=True)
    ]
    rows["tenant"] = tenant
    rows["entity"] = entity.value
    versions = (
        pairs["model_version"].dropna() if "model_version" in pairs.columns else pd.Series([], dtype="Int64")
    )
    rows["model_version"] = pd.array(
        [int(versions.max()) if len(versions) else None] * len(rows), dtype="Int64"
    )
    rows["policy_version"] = DEDUPE_POLICY_VERSION
    rows["cluster_size"] = rows["cluster_size"].astype("Int64")
    out = rows[list(PROPOSAL_COLUMNS)].sort_values(["cluster", "loser_id"], kind="stable")
    return out.reset_index(drop=True)


def send_to_review(proposals: pd.DataFrame, change_ids: Iterable[str], reason: str) -> pd.DataFrame:
    """`proposals` with every cluster holding one of `change_ids` decided `review` for `reason`."""
    wanted = set(change_ids)
    if proposals.empty or not wanted:
        return proposals
    key = proposals["entity"].astype(str) + "\x1f" + proposals["cluster"].astype(str)
    hit = key.isin(key[proposals["change_id"].isin(wanted)])
    out = proposals.copy()
    was_auto = hit & (out["decision"] == AUTO)
    out.loc[was_auto, "reason"] = reason
    out.loc[hit & ~was_auto, "reason"] = out.loc[hit & ~was_auto, "reason"] + "; " + reason
    out.loc[hit, "decision"] = REVIEW
    return out


def tenant_merge_proposals(
    ledger: Ledger,
    tenant: str,
    records: Mapping[Entity, EntityRecords],
    pairs: Mapping[Entity, pd.DataFrame],
    clusters: Mapping[Entity, pd.DataFrame],
    *,
    policy: SurvivorshipPolicy | None = None,
) -> pd.DataFrame:
    """Merge proposals of every entity, companies first; merges a person undid go to review."""
    parts: list[pd.DataFrame] = []
    company_survivors: dict[str, str] = {}
    for entity in ENTITIES:
        if entity not in records or entity not in clusters:
            continue
        proposals = build_merge_proposals(
            tenant,
            records[entity],
            pairs.get(entity, empty_pair_table(entity)),
            clusters[entity],
            do_not_link=ledger.registry.do_not_link_pairs(tenant, entity.value),
            company_survivors=company_survivors if entity is Entity.CONTACT else None,
            policy=policy,
        )
        if not proposals.empty:
            undone = ledger.proposals(
                tenant, status=ProposalStatus.REVERTED, change_ids=proposals["change_id"]
            )
            proposals = send_to_review(
                proposals, (p.change_id for p in undone), "a person undid this merge before"
            )
        if entity is Entity.COMPANY:
            auto = proposals[proposals["decision"] == AUTO]
            company_survivors = dict(zip(auto["loser_id"], auto["survivor_id"], strict=True))
        parts.append(proposals)
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts, ignore_index=True) if parts else empty_proposals()


def _reasons(checks: list[tuple[pd.Series, str]]) -> np.ndarray:
    """Per row, the texts of the checks that hold, joined by "; " ("" when none does)."""
    out = np.full(len(checks[0][0]), "", dtype=object)
    for mask, text in checks:
        hit = mask.fillna(True).to_numpy(dtype=bool)
        out = np.where(hit, np.where(out == "", text, out + "; " + text), out)
    return out


def _ordered(left: pd.Series, right: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    a = left.astype(str).to_numpy(dtype=object)
    b = right.astype(str).to_numpy(dtype=object)
    swap = a > b
    return np.where(swap, b, a), np.where(swap, a, b)


def _as_pair_keys(left: pd.Series, right: pd.Series) -> set[tuple[str, str]]:
    return set(zip(*_ordered(left, right), strict=True))


def _pairs_inside(pairs: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Scored pairs whose two records share a review cluster, with that cluster."""
    of = members.set_index("record_id")["cluster"]
    if pairs.empty:
        return pd.DataFrame(
            columns=["unique_id_l", "unique_id_r", "match_probability", "explanation", "cluster"]
        )
    left = pairs["unique_id_l"].astype(str).map(of)
    right = pairs["unique_id_r"].astype(str).map(of)
    inside = pairs.loc[left.notna() & (left == right), ["unique_id_l", "unique_id_r", "match_probability"]]
    inside = inside.astype({"unique_id_l": str, "unique_id_r": str})
    explanation = (
        pairs["explanation"] if "explanation" in pairs.columns else pd.Series(None, index=pairs.index)
    )
    inside["explanation"] = explanation.loc[inside.index].to_numpy(dtype=object)
    inside["cluster"] = left.loc[inside.index].to_numpy(dtype=object)
    return inside.reset_index(drop=True)


def _evidence(rows: pd.DataFrame, inside: pd.DataFrame) -> pd.DataFrame:
    """Per (survivor, loser): the pair survivor-loser when it was scored, else the loser's
    strongest pair inside the cluster (the link that brought it in), its probability and words."""
    both = pd.concat(
        [
            inside.rename(columns={"unique_id_l": "record", "unique_id_r": "other"}),
            inside.rename(columns={"unique_id_r": "record", "unique_id_l": "other"}),
        ],
        ignore_index=True,
    )
    direct = rows[["survivor_id", "loser_id"]].merge(
        both, left_on=["loser_id", "survivor_id"], right_on=["record", "other"], how="left"
    )
    strongest = (
        both.sort_values(
            ["record", "match_probability", "other"], ascending=[True, False, True], kind="stable"
        )
        .drop_duplicates("record")
        .set_index("record")
    )
    use_direct = direct["match_probability"].notna().to_numpy()
    fallback = strongest.reindex(rows["loser_id"].to_numpy())
    out = rows.copy()
    out["match_probability"] = np.where(
        use_direct,
        direct["match_probability"].to_numpy(dtype=float),
        fallback["match_probability"].to_numpy(dtype=float),
    )
    out["explanation"] = np.where(
        use_direct,
        direct["explanation"].to_numpy(dtype=object),
        fallback["explanation"].to_numpy(dtype=object),
    )
    other = np.where(
        use_direct, out["survivor_id"].to_numpy(dtype=object), fallback["other"].to_numpy(dtype=object)
    )
    out["evidence_pair"] = [f"{loser}~{o}" for loser, o in zip(out["loser_id"], other, strict=True)]
    return out


def _clusters_holding(do_not_link: pd.DataFrame, members: pd.DataFrame) -> set[object]:
    """Review clusters that hold both records of a do-not-link pair (joined through others)."""
    if do_not_link.empty:
        return set()
    of = members.set_index("record_id")["cluster"]
    left = do_not_link["record_id_l"].astype(str).map(of)
    right = do_not_link["record_id_r"].astype(str).map(of)
    return set(left[left.notna() & (left == right)])


def _stored_text(value: object) -> str | None:
    """A snapshot value as text to compare with the store later (timestamps as ISO instants)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    text = str(value)
    return text if text != "" else None


def _field_values(rows: pd.DataFrame, fields: pd.DataFrame, snapshot: pd.DataFrame) -> list[str]:
    """Per proposal row, the JSON list of survivorship values its merge carries.

    A value goes with the merge of the loser it came from (a union, or a value of the
    survivor, with the first loser), so unmerging one loser takes back what it brought.
    `old` is the survivor's stored value; `write` says whether the merge changes the field.
    """
    if fields.empty:
        return ["[]"] * len(rows)
    first_loser = rows.groupby("cluster")["loser_id"].min()
    losers = set(zip(rows["cluster"], rows["loser_id"], strict=True))
    stored = snapshot.set_index(snapshot["id"].astype(str))
    by_row: dict[tuple[object, str], list[dict[str, object]]] = {}
    for item in fields.itertuples(index=False):
        owner = item.from_record_id if (item.cluster, item.from_record_id) in losers else None
        owner = owner or first_loser.get(item.cluster)
        if owner is None:
            continue
        old = _stored_text(stored.at[item.survivor_id, item.field]) if item.field in stored.columns else None
        by_row.setdefault((item.cluster, owner), []).append(
            {
                "field": item.field,
                "old": old,
                "new": item.value,
                "from": item.from_record_id,
                "rule": item.rule,
                "conflict": bool(item.conflict),
                "write": item.value != item.current_value,
            }
        )
    return [
        json.dumps(by_row.get((c, loser), []), ensure_ascii=False, sort_keys=True)
        for c, loser in zip(rows["cluster"], rows["loser_id"], strict=True)
    ]


# --- everything at once ---------------------------------------------------------------------------


@dataclass
class TenantDedupe:
    """What one deduplication run found, per entity."""

    pairs: dict[Entity, CandidatePairs]
    clusters: dict[Entity, pd.DataFrame]
    proposals: pd.DataFrame
    learned_do_not_link: int = 0
    notes: list[str] = field(default_factory=list)


def dedupe_tenant(
    ledger: Ledger,
    tenant: str,
    records: Mapping[Entity, EntityRecords],
    *,
    run_id: str,
    previous: TenantDedupe | None = None,
    full: bool = False,
    policy: SurvivorshipPolicy | None = None,
    progress: Progress = _quiet,
) -> TenantDedupe:
    """All steps for one tenant, as the nightly job runs them; nothing is written to the CRM.

    `previous` (the last run's result) allows an incremental run. Apply the proposals with
    `crm_hygiene.apply.merges.apply_merge_proposals`.
    """
    learned = learn_from_reviews(ledger, tenant)
    pairs = tenant_candidate_pairs(
        ledger,
        tenant,
        records,
        previous=None if previous is None else {e: p.pairs for e, p in previous.pairs.items()},
        previous_clusters=None if previous is None else previous.clusters,
        full=full,
        progress=progress,
    )
    clusters = {
        entity: cluster_records(
            ledger.registry, tenant, entity, records[entity].live(), found.pairs, run_id=run_id
        )
        for entity, found in pairs.items()
    }
    proposals = tenant_merge_proposals(
        ledger, tenant, records, {e: p.pairs for e, p in pairs.items()}, clusters, policy=policy
    )
    return TenantDedupe(pairs, clusters, proposals, learned)
