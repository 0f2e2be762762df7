"""Merge proposals: per review cluster, survivor, evidence, survivorship values and a decision.

`auto` only when every scored pair inside the cluster is at or above the policy's auto-merge
threshold, the cluster holds no do-not-link pair and no record on the policy's never-merge
list, all its records belong to the tenant, it has at most `merge.max_auto_cluster_size`
records, and no person undid one of its merges before; otherwise `review`. A do-not-link pair
is never proposed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from crm_hygiene.ledger import ChangeKind, Ledger, ProposalStatus, make_change_id
from crm_hygiene.matching.decisions import AUTO, REVIEW
from crm_hygiene.matching.evidence import (
    as_pair_keys,
    clusters_holding,
    evidence,
    field_values,
    ordered,
    pairs_inside,
)
from crm_hygiene.matching.pairs import empty_pair_table, repoint
from crm_hygiene.matching.records import ENTITIES, EntityRecords
from crm_hygiene.matching.survivorship import plan_merges
from crm_hygiene.model.records import Entity
from crm_hygiene.policy.load import policy_hash
from crm_hygiene.policy.schema import Policy

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
    policy: Policy | None = None,
) -> pd.DataFrame:
    """One row per (review cluster, loser): survivor, evidence, field values and decision.

    `policy` (default: the shipped default) gives the thresholds, the cluster cap, the
    never-merge list and the survivorship rules; its hash is each row's `policy_version`.

    `company_survivors` maps merged-away company ids to their survivors for the contact plan
    (the store re-points contacts the same way when the company merge is applied).
    """
    entity = records.entity
    policy = policy or Policy()
    rules = policy.merge
    multi = clusters[clusters["review_size"] >= 2]
    if multi.empty:
        return empty_proposals()
    snapshot = records.snapshot
    normalized = records.normalized
    if entity is Entity.CONTACT and company_survivors:
        snapshot = repoint(snapshot, "company_id", company_survivors)
        normalized = repoint(normalized, "company_id", company_survivors)
    members = multi[["record_id", "review_cluster"]].rename(columns={"review_cluster": "cluster"})
    members = members[members["record_id"].isin(snapshot["id"].astype(str))]
    plan = plan_merges(
        snapshot, members, policy.survivorship_policy(), normalized=normalized, changed_at=records.changed_at
    )
    if plan.survivors.empty:
        return empty_proposals()

    rows = plan.survivors.explode("loser_ids").rename(
        columns={"loser_ids": "loser_id", "size": "cluster_size"}
    )
    rows = rows.reset_index(drop=True)
    inside = pairs_inside(pairs, members)
    rows = evidence(rows, inside)

    dnl = do_not_link if do_not_link is not None else pd.DataFrame(columns=["record_id_l", "record_id_r"])
    forbidden = as_pair_keys(dnl["record_id_l"], dnl["record_id_r"]) if len(dnl) else set()
    pair_key = list(zip(*ordered(rows["survivor_id"], rows["loser_id"]), strict=True))
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
    blocked = set(policy.lists.never_merge_records)
    holds_blocked = members.loc[members["record_id"].isin(blocked), "cluster"]
    reasons = reasons_text(
        [
            (rows["cluster_size"] > rules.max_auto_cluster_size, "cluster too large to merge unseen"),
            (
                ~(rows["weakest_probability"] >= rules.auto_merge_threshold),
                "a pair in the cluster scores below the auto-merge threshold",
            ),
            (rows["cluster"].isin(clusters_holding(dnl, members)), "the cluster holds a do-not-link pair"),
            (rows["cluster"].isin(set(holds_blocked)), "a record on the policy's never-merge list"),
            (foreign, "records of another tenant"),
        ]
    )
    rows["decision"] = np.where(reasons == "", AUTO, REVIEW)
    rows["reason"] = np.where(
        reasons == "", "every pair in the cluster at or above the auto-merge threshold", reasons
    )

    rows["field_values"] = field_values(rows, plan.fields, snapshot)
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
    rows["policy_version"] = policy_hash(policy)
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
    policy: Policy | None = None,
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


def reasons_text(checks: list[tuple[pd.Series, str]]) -> np.ndarray:
    """Per row, the texts of the checks that hold, joined by "; " ("" when none does)."""
    out = np.full(len(checks[0][0]), "", dtype=object)
    for mask, text in checks:
        hit = mask.fillna(True).to_numpy(dtype=bool)
        out = np.where(hit, np.where(out == "", text, out + "; " + text), out)
    return out
