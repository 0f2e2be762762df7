"""`normalized_records` and `standardization_proposals`, with their blocking checks."""

import dagster as dg

from crm_hygiene import tables
from crm_hygiene.config import Settings
from crm_hygiene.model import Entity, spec
from crm_hygiene.normalize.schemas import normalized_schema
from crm_hygiene.normalize.workers import worker_pool
from crm_hygiene.pipeline.incremental import normalized_rows_of_run, repeated_ids, run_mode
from crm_hygiene.pipeline.normalize import normalize_to_warehouse
from crm_hygiene.pipeline.standardize import propose_to_warehouse
from crm_hygiene.quality.expectations import (
    ROWS,
    SUITE_COLUMNS,
    TABLE,
    TABLE_COLUMNS,
    combine_outcomes,
    run_normalized_suite,
)
from crm_hygiene.warehouse import read_table
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
        mode = run_mode(conn, tenant)
        with worker_pool(Settings.from_env().workers) as workers:
            context.log.info(f"normalizing {tenant} ({mode.name}) on {workers} process(es)")
            normalized = normalize_to_warehouse(conn, tenant, mode, progress=context.log.info)
        metadata["mode"] = dg.MetadataValue.text(mode.name)
        for entity, table in normalized.items():
            name = spec(entity).table
            metadata[f"{name}.rows"] = dg.MetadataValue.int(
                tables.count(conn, tenant, tables.normalized(entity))
            )
            metadata[f"{name}.normalized_now"] = dg.MetadataValue.int(table.rows)
            metadata[f"{name}.changes_by_rule"] = dg.MetadataValue.json(table.rule_counts)
            metadata[f"{name}.validity"] = dg.MetadataValue.json(table.validity)
            context.log.info(f"normalized {tenant}/{name}: {table.rows} rows")
    return dg.MaterializeResult(metadata=metadata)


@tenant_asset(
    name="standardization_proposals",
    deps=[normalized_records],
    group_name="standardize",
    kinds={"duckdb", "pandas"},
    description=(
        "One proposal per field whose canonical value differs from the stored one: rule, old, new, "
        "confidence and the record version it was judged against. Incremental runs redo the "
        "records normalized again."
    ),
)
def standardization_proposals_asset(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, ledger: LedgerResource
) -> dg.MaterializeResult:
    tenant = context.partition_key
    policy = run_policy(context, ledger)
    with warehouse.get_connection() as conn:
        incremental, made = propose_to_warehouse(conn, tenant, run_mode(conn, tenant))
        proposals = read_table(
            conn, tenant, tables.STANDARDIZATION_PROPOSALS, ["entity", "field", "rule", "confidence"]
        )
    by_rule = (
        proposals.groupby("rule")["confidence"].agg(["count", "mean"]).round(3) if len(proposals) else None
    )
    return dg.MaterializeResult(
        metadata={
            "mode": dg.MetadataValue.text("incremental" if incremental else "full"),
            "proposals": dg.MetadataValue.int(len(proposals)),
            "proposed_now": dg.MetadataValue.int(made),
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
    read=lambda conn, tenant, entity, ids: tables.read_normalized(conn, tenant, entity, ids=ids),
    table_for=tables.normalized,
    rows_of_run=normalized_rows_of_run,
    duplicate_ids=lambda conn, tenant, entity: repeated_ids(conn, tenant, tables.normalized(entity)),
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
            ids = normalized_rows_of_run(conn, tenant, entity)
            # Only the columns the suite reads: the whole table copied into pandas cost most of the check.
            if ids is None:
                frame = tables.read_normalized(conn, tenant, entity, columns=SUITE_COLUMNS)
                outcome = run_normalized_suite(entity, frame)
            else:
                # An incremental run: each row's values for the rows it wrote, and what holds for
                # the table as a whole (repeated ids, validity rates) on a few narrow columns.
                rows = tables.read_normalized(conn, tenant, entity, columns=SUITE_COLUMNS, ids=ids)
                whole = tables.read_normalized(conn, tenant, entity, columns=TABLE_COLUMNS)
                outcome = combine_outcomes(
                    run_normalized_suite(entity, rows, frozenset({ROWS})),
                    run_normalized_suite(entity, whole, frozenset({TABLE})),
                )
            passed &= outcome.success
            name = spec(entity).table
            metadata[f"{name}.checked"] = dg.MetadataValue.text(
                "every row" if ids is None else "rows of this run"
            )
            metadata[f"{name}.expectations"] = dg.MetadataValue.int(len(outcome.outcomes))
            metadata[f"{name}.failed"] = dg.MetadataValue.json(
                [
                    {"expectation": o.expectation, "column": o.column, "unexpected": o.unexpected_count,
                     "observed": o.observed, "sample": o.sample}
                    for o in outcome.failures()
                ]
            )  # fmt: skip
    return dg.AssetCheckResult(passed=passed, metadata=metadata)
