"""`crm_snapshot`: every record of one tenant, typed and flagged, copied into the warehouse."""

import dagster as dg

from crm_hygiene.model import Entity, spec
from crm_hygiene.model.schemas import snapshot_schema
from crm_hygiene.model.snapshot import restore_snapshot_dtypes
from crm_hygiene.pipeline.snapshot import iter_snapshot
from crm_hygiene.warehouse import read_table, snapshot_table, write_table
from crm_hygiene_dagster.assets.pandera_checks import combine, evaluate_schema
from crm_hygiene_dagster.partitions import tenants
from crm_hygiene_dagster.resources import CrmStoreResource, WarehouseResource


@dg.asset(
    partitions_def=tenants,
    group_name="snapshot",
    kinds={"duckdb", "pandas"},
    description=(
        "Every contact, company and employment record of the tenant as stored in the CRM, typed. "
        "Malformed rows are kept and flagged with their reason; nothing is dropped."
    ),
)
def crm_snapshot(
    context: dg.AssetExecutionContext, crm_store: CrmStoreResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    tenant = context.partition_key
    store = crm_store.open()
    metadata: dict[str, object] = {"store": store.description}
    with warehouse.get_connection() as conn:
        for snap in iter_snapshot(store, tenant, progress=context.log.info):
            entity = snap.entity
            table = write_table(conn, tenant, snapshot_table(spec(entity).table), snap.frame)
            summary = snap.summary()
            name = spec(entity).table
            metadata[f"{name}.table"] = table
            metadata[f"{name}.rows"] = dg.MetadataValue.int(summary["rows"])
            metadata[f"{name}.malformed_rows"] = dg.MetadataValue.int(summary["malformed_rows"])
            metadata[f"{name}.malformed_by_field"] = dg.MetadataValue.json(summary["malformed_by_field"])
            metadata[f"{name}.status"] = dg.MetadataValue.json(summary["status"])
            if summary["unknown_columns"]:
                metadata[f"{name}.unknown_columns"] = dg.MetadataValue.json(summary["unknown_columns"])
    return dg.MaterializeResult(metadata=metadata)


@dg.asset_check(
    asset=crm_snapshot,
    blocking=True,
    description="Pandera: snapshot columns and types, and the invariants of every well-formed row.",
)
def crm_snapshot_schema(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    tenant = context.partition_key
    results, names = [], []
    with warehouse.get_connection() as conn:
        for entity in Entity:
            name = spec(entity).table
            frame = restore_snapshot_dtypes(entity, read_table(conn, tenant, snapshot_table(name)))
            results.append(evaluate_schema(snapshot_schema(entity), frame))
            names.append(name)
    return combine(results, names)
