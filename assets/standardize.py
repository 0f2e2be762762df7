"""`normalized_records` and `standardization_proposals`, with their blocking checks."""

import dagster as dg
import pandas as pd

from crm_hygiene import tables
from crm_hygiene.config import Settings
from crm_hygiene.model import Entity, spec
from crm_hygiene.normalize.records import INPUT_COLUMNS, normalize_tenant, standardization_proposals
from crm_hygiene.normalize.schemas import normalized_schema
from crm_hygiene.normalize.workers import worker_pool
from crm_hygiene.quality.expectations import SUITE_COLUMNS, run_normalized_suite
from crm_hygiene.warehouse import write_table
from crm_hygiene_dagster.assets.factory import (
    blocking_check,
    pandera_check,
    policy_metadata,
    run_policy,
    tenant_asset,
)
from crm_hygiene_dagster.assets.snapshot import crm_snapshot
from crm_hygiene_dagster.resources import LedgerResource, WarehouseResource


@tenant_asset(
    deps=[crm_snapshot],
    group_name="standardize",
    kinds={"duckdb", "pandas"},
    description=(
        "Every field standardized with maintained parsers: canonical value, validity and reason per "
        "field, match keys for deduplication. The snapshot keeps the original values."
    ),
)
def normalized_records(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, ledger: LedgerResource
) -> dg.MaterializeResult:
    tenant = context.partition_key
    metadata: dict[str, object] = dict(policy_metadata(run_policy(context, ledger)))
    with warehouse.get_connection() as conn:
        snapshots = {
            entity: tables.read_snapshot(conn, tenant, entity, INPUT_COLUMNS[entity]) for entity in Entity
        }
        with worker_pool(Settings.from_env().workers) as workers:
            context.log.info(f"normalizing {tenant} on {workers} process(es)")
            normalized = normalize_tenant(snapshots)
        for entity, table in normalized.items():
            write_table(conn, tenant, tables.normalized(entity), table.frame)
            name = spec(entity).table
            metadata[f"{name}.rows"] = dg.MetadataValue.int(len(table.frame))
            metadata[f"{name}.changes_by_rule"] = dg.MetadataValue.json(table.rule_counts())
            metadata[f"{name}.validity"] = dg.MetadataValue.json(table.validity())
            context.log.info(f"normalized {tenant}/{name}: {len(table.frame)} rows")
    return dg.MaterializeResult(metadata=metadata)


@tenant_asset(
    name="standardization_proposals",
    deps=[normalized_records],
    group_name="standardize",
    kinds={"duckdb", "pandas"},
    description=(
        "One proposal per field whose canonical value differs from the stored one: rule, old, new, "
        "confidence and the record version it was judged against."
    ),
)
def standardization_proposals_asset(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, ledger: LedgerResource
) -> dg.MaterializeResult:
    tenant = context.partition_key
    policy = run_policy(context, ledger)
    parts = []
    with warehouse.get_connection() as conn:
        for entity in Entity:
            snapshot = tables.read_snapshot(conn, tenant, entity)
            frame = tables.read_normalized(conn, tenant, entity)
            parts.append(standardization_proposals(tenant, entity, snapshot, frame))
        proposals = pd.concat([p for p in parts if not p.empty] or parts[:1], ignore_index=True)
        write_table(conn, tenant, tables.STANDARDIZATION_PROPOSALS, proposals)
    by_rule = (
        proposals.groupby("rule")["confidence"].agg(["count", "mean"]).round(3) if len(proposals) else None
    )
    return dg.MaterializeResult(
        metadata={
            "proposals": dg.MetadataValue.int(len(proposals)),
            "by_field": dg.MetadataValue.json(
                {f"{e}.{f}": int(n) for (e, f), n in proposals.groupby(["entity", "field"]).size().items()}
            ),
            "by_rule": dg.MetadataValue.md(by_rule.to_markdown() if by_rule is not None else "none"),
            **policy_metadata(policy),
        }
    )


normalized_records_schema = pandera_check(
    normalized_records,
    name="normalized_records_schema",
    description="Pandera: unique ids, canonical values only where valid, reasons for every invalid field.",
    entities=Entity,
    schema_for=normalized_schema,
    read=tables.read_normalized,
)


@blocking_check(
    normalized_records,
    description="Great Expectations: id uniqueness, ISO country codes, E.164 phones, validity rates.",
)
def normalized_records_expectations(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    tenant = context.partition_key
    metadata: dict[str, object] = {}
    passed = True
    with warehouse.get_connection() as conn:
        for entity in Entity:
            # Only the columns the suite reads: the whole table copied into pandas cost most of the check.
            frame = tables.read_normalized(conn, tenant, entity, columns=SUITE_COLUMNS)
            outcome = run_normalized_suite(entity, frame)
            passed &= outcome.success
            name = spec(entity).table
            metadata[f"{name}.expectations"] = dg.MetadataValue.int(len(outcome.outcomes))
            metadata[f"{name}.failed"] = dg.MetadataValue.json(
                [
                    {"expectation": o.expectation, "column": o.column, "unexpected": o.unexpected_count,
                     "observed": o.observed, "sample": o.sample}
                    for o in outcome.failures()
                ]
            )  # fmt: skip
    return dg.AssetCheckResult(passed=passed, metadata=metadata)
