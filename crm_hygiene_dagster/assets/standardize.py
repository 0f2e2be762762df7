"""`normalized_records` and `standardization_proposals`, with their blocking checks."""

from collections.abc import Sequence

import dagster as dg
import pandas as pd

from crm_hygiene.config import Settings
from crm_hygiene.model import Entity, spec
from crm_hygiene.model.snapshot import restore_snapshot_dtypes
from crm_hygiene.normalize.records import INPUT_COLUMNS, normalize_tenant, standardization_proposals
from crm_hygiene.normalize.schemas import normalized_schema
from crm_hygiene.normalize.workers import worker_pool
from crm_hygiene.quality.expectations import run_normalized_suite
from crm_hygiene.warehouse import read_table, snapshot_table, write_table
from crm_hygiene_dagster.assets.pandera_checks import combine, evaluate_schema
from crm_hygiene_dagster.assets.snapshot import crm_snapshot
from crm_hygiene_dagster.partitions import tenants
from crm_hygiene_dagster.resources import WarehouseResource


def normalized_table(entity: Entity) -> str:
    return f"normalized_{spec(entity).table}"


def read_entity_table(
    conn, tenant: str, entity: Entity, *, normalized: bool, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """The tenant's normalized or snapshot table of `entity` (only `columns` of a snapshot), typed."""
    if normalized:
        frame = read_table(conn, tenant, normalized_table(entity))
        for column in frame.columns:
            if column.endswith("_valid"):
                frame[column] = frame[column].astype("boolean")
        frame["version"] = frame["version"].astype("Int64")
        return frame
    table = read_table(conn, tenant, snapshot_table(spec(entity).table), columns)
    return restore_snapshot_dtypes(entity, table)


@dg.asset(
    partitions_def=tenants,
    deps=[crm_snapshot],
    group_name="standardize",
    kinds={"duckdb", "pandas"},
    description=(
        "Every field standardized with maintained parsers: canonical value, validity and reason per "
        "field, match keys for deduplication. The snapshot keeps the original values."
    ),
)
def normalized_records(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    tenant = context.partition_key
    metadata: dict[str, object] = {}
    with warehouse.get_connection() as conn:
        snapshots = {
            entity: read_entity_table(conn, tenant, entity, normalized=False, columns=INPUT_COLUMNS[entity])
            for entity in Entity
        }
        with worker_pool(Settings.from_env().workers) as workers:
            context.log.info(f"normalizing {tenant} on {workers} process(es)")
            tables = normalize_tenant(snapshots)
        for entity, table in tables.items():
            write_table(conn, tenant, normalized_table(entity), table.frame)
            name = spec(entity).table
            metadata[f"{name}.rows"] = dg.MetadataValue.int(len(table.frame))
            metadata[f"{name}.changes_by_rule"] = dg.MetadataValue.json(table.rule_counts())
            metadata[f"{name}.validity"] = dg.MetadataValue.json(table.validity())
            context.log.info(f"normalized {tenant}/{name}: {len(table.frame)} rows")
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    name="standardization_proposals",
    partitions_def=tenants,
    deps=[normalized_records],
    group_name="standardize",
    kinds={"duckdb", "pandas"},
    description=(
        "One proposal per field whose canonical value differs from the stored one: rule, old, new, "
        "confidence and the record version it was judged against."
    ),
)
def standardization_proposals_asset(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    tenant = context.partition_key
    parts = []
    with warehouse.get_connection() as conn:
        for entity in Entity:
            snapshot = read_entity_table(conn, tenant, entity, normalized=False)
            frame = read_entity_table(conn, tenant, entity, normalized=True)
            parts.append(standardization_proposals(tenant, entity, snapshot, frame))
        proposals = pd.concat([p for p in parts if not p.empty] or parts[:1], ignore_index=True)
        write_table(conn, tenant, "standardization_proposals", proposals)
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
        }
    )


@dg.asset_check(
    asset=normalized_records,
    blocking=True,
    description="Pandera: unique ids, canonical values only where valid, reasons for every invalid field.",
)
def normalized_records_schema(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    tenant = context.partition_key
    results, names = [], []
    with warehouse.get_connection() as conn:
        for entity in Entity:
            frame = read_entity_table(conn, tenant, entity, normalized=True)
            results.append(evaluate_schema(normalized_schema(entity), frame))
            names.append(spec(entity).table)
    return combine(results, names)


@dg.asset_check(
    asset=normalized_records,
    blocking=True,
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
            outcome = run_normalized_suite(entity, read_entity_table(conn, tenant, entity, normalized=True))
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
