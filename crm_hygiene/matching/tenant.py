"""Deduplication of one tenant, all steps at once: model, candidate pairs, clusters, proposals.

The Dagster assets call the steps one at a time; a notebook or test calls `dedupe_tenant`.
Per entity type, companies first (a contact's `company_id` is read through the company
clusters for matching, and through the company merges decided `auto` for survivorship):

1. `model_store.model_for`: the tenant's stored model from the ledger; one is trained and
   stored as a new version when there is none or the settings fingerprint changed. Fewer
   than the policy's `merge.min_training_records` live records leave the entity unmatched
   for the run, with the reason.
2. `pairs.find_candidate_pairs`: pairs at or above the policy's review threshold with their
   explanation in words, minus do-not-link pairs; full or incremental.
3. `clusters.cluster_records`: connected components at the auto-merge and review
   thresholds; the auto clusters get stable entity ids from the ledger's registry.
4. `proposals.build_merge_proposals`: per review cluster, survivorship picks the survivor and
   the merged field values; one row per (cluster, loser) with the evidence and a decision.

Every threshold, the cluster cap, the never-merge list and the survivorship rules come from
the tenant's `Policy`; its hash is the `policy_version` of every proposal. Reviewers teach the
matcher: `reviews.learn_from_reviews` turns rejected merges into do-not-link pairs first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from crm_hygiene.ledger import Ledger
from crm_hygiene.matching.clusters import cluster_records
from crm_hygiene.matching.pairs import CandidatePairs, tenant_candidate_pairs
from crm_hygiene.matching.proposals import tenant_merge_proposals
from crm_hygiene.matching.records import EntityRecords, Progress, quiet
from crm_hygiene.matching.reviews import learn_from_reviews
from crm_hygiene.model.records import Entity
from crm_hygiene.policy.schema import Policy


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
    policy: Policy | None = None,
    progress: Progress = quiet,
) -> TenantDedupe:
    """All steps for one tenant, as the nightly job runs them; nothing is written to the CRM.

    `previous` (the last run's result) allows an incremental run. Apply the proposals with
    `crm_hygiene.apply.merges.apply_merge_proposals`.
    """
    policy = policy or Policy()
    learned = learn_from_reviews(ledger, tenant)
    pairs = tenant_candidate_pairs(
        ledger,
        tenant,
        records,
        previous=None if previous is None else {e: p.pairs for e, p in previous.pairs.items()},
        previous_clusters=None if previous is None else previous.clusters,
        full=full,
        policy=policy,
        progress=progress,
    )
    clusters = {
        entity: cluster_records(
            ledger.registry,
            tenant,
            entity,
            records[entity].live(),
            found.pairs,
            run_id=run_id,
            rules=policy.merge,
        )
        for entity, found in pairs.items()
    }
    proposals = tenant_merge_proposals(
        ledger, tenant, records, {e: p.pairs for e, p in pairs.items()}, clusters, policy=policy
    )
    return TenantDedupe(pairs, clusters, proposals, learned)
