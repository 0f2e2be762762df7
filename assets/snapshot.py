"""`crm_snapshot`: every record of one tenant, typed and flagged, copied into the warehouse."""

import dagster as dg

from crm_hygiene import tables
from crm_hygiene.model import Entity, spec
from crm_hygiene.model.field_changes import TRACKED
from crm_hygiene.model.schemas import snapshot_schema
from crm_hygiene.pipeline.field_changes import update_field_changes
from crm_hygiene.pipeline.snapshot import iter_snapshot
from crm_hygiene.warehouse import write_table
from crm_hygiene_dagster.assets.factory import pandera_check, policy_metadata, run_policy, tenant_asset
from crm_hygiene_dagster.resources import CrmStoreResource, LedgerResource, WarehouseResource


@tenant_asset(
    group_name="snapshot",
    kinds={"duckdb", "pandas"},
    description=(
        "Every contact, company and employment record of the tenant as stored in the CRM, typed. "
        "Malformed rows are kept and flagged with their reason; nothing is dropped."
    ),
)
def crm_snapshot(
    context: dg.AssetExecutionContext,
    crm_store: CrmStoreResource,
    warehouse: WarehouseResource,
    ledger: LedgerResource,
) -> dg.MaterializeResult:
    tenant = context.partition_key
    # Pinned first, so a policy set while this run goes on takes effect from the next run.
    policy = run_policy(context, ledger)
    store = crm_store.open()
    metadata: dict[str, object] = {"store": store.description, **policy_metadata(policy)}
    with warehouse.get_connection() as conn, ledger.open() as book:
        for snap in iter_snapshot(store, tenant, progress=context.log.info):
            entity = snap.entity
            table = write_table(conn, tenant, tables.snapshot(entity), snap.frame)
            if entity in TRACKED:
                # When a person last changed each field: survivorship must not take this
                # tool's own writes (a re-pointed reference) for a person's edit.
                metadata[f"{spec(entity).table}.field_changes"] = update_field_changes(
                    conn, tenant, entity, book
                )
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


crm_snapshot_schema = pandera_check(
    crm_snapshot,
    name="crm_snapshot_schema",
    description="Pandera: snapshot columns and types, and the invariants of every well-formed row.",
    entities=Entity,
    schema_for=snapshot_schema,
    read=tables.read_snapshot,
)
