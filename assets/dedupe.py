"""Deduplication: `candidate_pairs` -> `duplicate_clusters` -> `merge_proposals` -> `applied_merges`.

Thin: each asset reads the tenant's warehouse tables (`crm_hygiene.tables`), calls one step of
`crm_hygiene.matching` (or `crm_hygiene.apply.merges`) with the run's pinned policy, and
writes its result back.

Applying the merges is an asset of its own, `applied_merges`, rather than a side effect of
`merge_proposals`: the blocking check on `merge_proposals` can only protect the CRM if the
writes happen downstream of it. It also keeps `merge_proposals` a pure function of its
inputs (re-materializing it writes nothing to the CRM), and it is the place where the
design's `scored_changes` will later feed merges in with the other changes.
"""

import dagster as dg
from pydantic import Field

from crm_hygiene import tables
from crm_hygiene.apply.audited import AuditedWriter
from crm_hygiene.apply.merges import apply_merge_proposals
from crm_hygiene.matching.clusters import cluster_records, cluster_summary
from crm_hygiene.matching.decisions import AUTO, REVIEW
from crm_hygiene.matching.inputs import SOURCE_COLUMNS
from crm_hygiene.matching.pairs import tenant_candidate_pairs
from crm_hygiene.matching.proposals import tenant_merge_proposals
from crm_hygiene.matching.records import ENTITIES
from crm_hygiene.matching.reviews import learn_from_reviews
from crm_hygiene.matching.schemas import merge_proposals_schema
from crm_hygiene.model import spec
from crm_hygiene.pipeline.incremental import mark_complete, run_mode
from crm_hygiene.pipeline.snapshot import held_tables
from crm_hygiene.warehouse import read_table, write_table
from crm_hygiene_dagster.assets.checks import evaluate_schema
from crm_hygiene_dagster.assets.factory import (
    blocking_check,
    pin_policy,
    policy_metadata,
    run_policy,
    tenant_asset,
)
from crm_hygiene_dagster.assets.standardize import normalized_records
from crm_hygiene_dagster.resources import CrmStoreResource, LedgerResource, WarehouseResource


class CandidatePairsConfig(dg.Config):
    full: bool = Field(
        default=False,
        description="score every pair, instead of only the records new or changed since the last run",
    )


@tenant_asset(
    deps=[normalized_records],
    group_name="dedupe",
    kinds={"duckdb", "splink"},
    description=(
        "Record pairs that may be the same contact or company, scored with the tenant's stored Splink "
        "model (trained when missing or outdated), explained in words; do-not-link pairs removed. "
        "Incremental: only new and changed records are scored when the previous run's pairs exist."
    ),
)
def candidate_pairs(
    context: dg.AssetExecutionContext,
    config: CandidatePairsConfig,
    warehouse: WarehouseResource,
    ledger: LedgerResource,
) -> dg.MaterializeResult:
    tenant = context.partition_key
    with warehouse.get_connection() as conn, ledger.open() as book:
        policy = pin_policy(context, book)
        metadata: dict[str, object] = dict(policy_metadata(policy))
        records = {
            # Only the columns matching reads: the whole normalized table is most of the memory.
            e: tables.read_records(
                conn,
                tenant,
                e,
                snapshot_columns=["id", "updated_at"],
                normalized_columns=[*SOURCE_COLUMNS[e], "version"],
            )
            for e in ENTITIES
        }
        previous = {e: tables.read_if_present(conn, tenant, tables.candidate_pairs(e)) for e in ENTITIES}
        previous_clusters = {
            e: tables.read_if_present(conn, tenant, tables.duplicate_clusters(e)) for e in ENTITIES
        }
        metadata["do_not_link_learned"] = dg.MetadataValue.int(learn_from_reviews(book, tenant))
        mode = run_mode(conn, tenant)
        # Records normalized again without a new version (a contact of a company whose country
        # changed) have new match input: scored again like changed ones.
        renormalized = {
            e: read_table(conn, tenant, tables.renormalized(e))["id"].astype(str).tolist()
            for e in ENTITIES
            if not mode.full and tables.has(conn, tenant, tables.renormalized(e))
        }
        found = tenant_candidate_pairs(
            book,
            tenant,
            records,
            previous=previous,
            previous_clusters=previous_clusters,
            full=config.full,
            policy=policy.policy,
            progress=context.log.info,
            rescore_also=renormalized,
        )
        for entity, result in found.items():
            write_table(conn, tenant, tables.candidate_pairs(entity), result.pairs)
            name = spec(entity).table
            metadata[f"{name}.pairs"] = dg.MetadataValue.int(len(result.pairs))
            metadata[f"{name}.by_probability"] = dg.MetadataValue.json(result.bands())
            metadata[f"{name}.mode"] = dg.MetadataValue.text(f"{result.mode}: {result.note}")
            metadata[f"{name}.records_scored"] = dg.MetadataValue.int(result.scored_records)
            metadata[f"{name}.live_records"] = dg.MetadataValue.int(result.live_records)
            metadata[f"{name}.model"] = dg.MetadataValue.text(result.model.note)
            learnt = result.model.model.metadata.get("learnt") if result.model.model is not None else None
            if learnt:
                # What the model in use learnt: its prior and where from, the EM blocks, the
                # strongest levels, and any disagreement between the prior's estimates.
                metadata[f"{name}.learnt"] = dg.MetadataValue.json(learnt)
            metadata[f"{name}.do_not_link_dropped"] = dg.MetadataValue.int(result.dropped_do_not_link)
    return dg.MaterializeResult(metadata=metadata)


@tenant_asset(
    deps=[candidate_pairs],
    group_name="dedupe",
    kinds={"duckdb", "splink"},
    description=(
        "Every live record with its cluster at the auto-merge and at the review threshold, and its "
        "stable entity id from the ledger's registry (ids follow the auto clusters)."
    ),
)
def duplicate_clusters(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, ledger: LedgerResource
) -> dg.MaterializeResult:
    tenant = context.partition_key
    with warehouse.get_connection() as conn, ledger.open() as book:
        policy = pin_policy(context, book)
        metadata: dict[str, object] = dict(policy_metadata(policy))
        # On an incremental run the previous run completed: its clusters are the registry's
        # state, and the clusters that did not change keep their ids without asking it.
        incremental = not run_mode(conn, tenant).full
        for entity in ENTITIES:
            records = tables.read_records(
                conn, tenant, entity, snapshot_columns=["id"], normalized_columns=["id", "status", "version"]
            )
            pairs = read_table(conn, tenant, tables.candidate_pairs(entity))
            previous = (
                tables.read_if_present(conn, tenant, tables.duplicate_clusters(entity))
                if incremental
                else None
            )
            clusters = cluster_records(
                book.registry,
                tenant,
                entity,
                records.live(),
                pairs,
                run_id=context.run.run_id,
                rules=policy.policy.merge,
                previous=previous,
            )
            write_table(conn, tenant, tables.duplicate_clusters(entity), clusters)
            for key, value in cluster_summary(clusters).items():
                metadata[f"{spec(entity).table}.{key}"] = dg.MetadataValue.int(value)
    return dg.MaterializeResult(metadata=metadata)


@tenant_asset(
    name="merge_proposals",
    deps=[duplicate_clusters],
    group_name="dedupe",
    kinds={"duckdb", "pandas"},
    description=(
        "One proposal per (cluster, loser): survivor, match probability, explanation, survivorship "
        "values field by field, change id, and the decision: auto (merged unseen) or review."
    ),
)
def merge_proposals_asset(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, ledger: LedgerResource
) -> dg.MaterializeResult:
    tenant = context.partition_key
    with warehouse.get_connection() as conn, ledger.open() as book:
        policy = pin_policy(context, book)
        pairs = {e: read_table(conn, tenant, tables.candidate_pairs(e)) for e in ENTITIES}
        clusters = {e: read_table(conn, tenant, tables.duplicate_clusters(e)) for e in ENTITIES}
        # Survivorship reads the members of clusters of two or more records only.
        members = {e: clusters[e].loc[clusters[e]["review_size"] >= 2, "record_id"] for e in ENTITIES}
        records = {e: tables.read_records(conn, tenant, e, ids=members[e]) for e in ENTITIES}
        proposals = tenant_merge_proposals(book, tenant, records, pairs, clusters, policy=policy.policy)
        write_table(conn, tenant, tables.MERGE_PROPOSALS, proposals)
    by_entity = proposals.groupby(["entity", "decision"]).size()
    reasons = proposals.loc[proposals["decision"] == REVIEW, "reason"].value_counts()
    return dg.MaterializeResult(
        metadata={
            "proposals": dg.MetadataValue.int(len(proposals)),
            "auto": dg.MetadataValue.int(int((proposals["decision"] == AUTO).sum())),
            "review": dg.MetadataValue.int(int((proposals["decision"] == REVIEW).sum())),
            "by_entity": dg.MetadataValue.json({f"{e}.{d}": int(n) for (e, d), n in by_entity.items()}),
            "review_reasons": dg.MetadataValue.json({str(k): int(v) for k, v in reasons.items()}),
            **policy_metadata(policy),
        }
    )


@blocking_check(
    merge_proposals_asset,
    description=(
        "Pandera: one tenant, probabilities in [0, 1], auto only above the policy's auto-merge "
        "threshold, no record merged into itself or twice, a survivor never a loser elsewhere, "
        "unique change ids."
    ),
)
def merge_proposals_schema_check(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, ledger: LedgerResource
) -> dg.AssetCheckResult:
    tenant = context.partition_key
    policy = run_policy(context, ledger)
    with warehouse.get_connection() as conn:
        proposals = read_table(conn, tenant, tables.MERGE_PROPOSALS)
    # Failure samples name records by `id`: the loser is the record a merge would change.
    passed, metadata = evaluate_schema(
        merge_proposals_schema(tenant, policy.policy.merge), proposals.assign(id=proposals["loser_id"])
    )
    return dg.AssetCheckResult(passed=passed, metadata={**metadata, **policy_metadata(policy)})


@tenant_asset(
    deps=[merge_proposals_asset],
    group_name="dedupe",
    kinds={"duckdb", "sqlite"},
    description=(
        "Auto merges applied through the audited writer (companies first, survivorship values "
        "included, each write audited with run id, policy version and evidence; undo with "
        "`crm-hygiene unmerge`); review merges put in the ledger's review queue."
    ),
)
def applied_merges(
    context: dg.AssetExecutionContext,
    crm_store: CrmStoreResource,
    warehouse: WarehouseResource,
    ledger: LedgerResource,
) -> dg.MaterializeResult:
    tenant = context.partition_key
    with warehouse.get_connection() as conn, ledger.open() as book:
        policy = pin_policy(context, book)
        proposals = read_table(conn, tenant, tables.MERGE_PROPOSALS)
        writer = AuditedWriter(crm_store.open(), book, run_id=context.run.run_id, policy_version=policy.hash)
        held = held_tables(conn, tenant)
        outcome = apply_merge_proposals(
            writer, proposals, tenant=tenant, progress=context.log.debug, held=held
        )
        write_table(conn, tenant, tables.APPLIED_MERGES, outcome.table())
        waiting = book.counts(tenant)["open_review_items"]
        # The run's last step: the next run may build on this one's tables.
        mark_complete(conn, tenant)
    by_entity = outcome.table().groupby(["entity", "outcome"]).size()
    return dg.MaterializeResult(
        metadata={
            **{key: dg.MetadataValue.int(value) for key, value in outcome.counts().items()},
            "by_entity": dg.MetadataValue.json({f"{e}.{o}": int(n) for (e, o), n in by_entity.items()}),
            "open_review_items": dg.MetadataValue.int(int(waiting)),
            **policy_metadata(policy),
        }
    )
