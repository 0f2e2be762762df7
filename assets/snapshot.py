"""`crm_snapshot`: every record of one tenant, typed and flagged, copied into the warehouse."""

import dagster as dg

from crm_hygiene import tables
from crm_hygiene.model import Entity, spec
from crm_hygiene.model.field_changes import TRACKED
from crm_hygiene.model.schemas import snapshot_schema
from crm_hygiene.pipeline.field_changes import update_field_changes
from crm_hygiene.pipeline.incremental import decide_mode, record_state, repeated_ids, snapshot_rows_of_run
from crm_hygiene.pipeline.snapshot import snapshot_to_warehouse, table_summary
from crm_hygiene.policy.schema import OnUnreadable
from crm_hygiene.warehouse import qualified_name
from crm_hygiene_dagster.assets.factory import pandera_check, policy_metadata, run_policy, tenant_asset
from crm_hygiene_dagster.resources import CrmStoreResource, LedgerResource, WarehouseResource


class SnapshotConfig(dg.Config):
    """`full`: read and redo every record even if the previous run's tables could be reused."""

    full: bool = False


@tenant_asset(
    group_name="snapshot",
    kinds={"duckdb", "pandas"},
    description=(
        "Every contact, company and employment record of the tenant as stored in the CRM, typed. "
        "Malformed rows are kept and flagged with their reason; nothing is dropped. Incremental "
        "after the first run: only records whose version or updated_at moved are read again."
    ),
)
def crm_snapshot(
    context: dg.AssetExecutionContext,
    config: SnapshotConfig,
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
        mode = decide_mode(conn, tenant, policy.hash, requested_full=config.full)
        record_state(conn, tenant, policy.hash, mode)
        metadata["mode"] = dg.MetadataValue.text(f"{mode.name}: {mode.reason}")
        context.log.info(f"snapshot {tenant}: {mode.name} ({mode.reason})")
        hold = policy.policy.snapshot.on_unreadable_table is OnUnreadable.HOLD
        for result in snapshot_to_warehouse(
            conn, store, tenant, mode, progress=context.log.info, hold_unreadable=hold
        ):
            entity = result.entity
            name = spec(entity).table
            if result.held:
                # One line for the summary; the table keeps its last snapshot and is not written.
                context.log.warning(f"{name} held: {result.held}")
                metadata[f"{name}.held"] = dg.MetadataValue.text(result.held)
            elif entity in TRACKED:
                # When a person last changed each field: survivorship must not take this
                # tool's own writes (a re-pointed reference) for a person's edit.
                metadata[f"{name}.field_changes"] = update_field_changes(
                    conn, tenant, entity, book, changed=None if mode.full else result.changes["id"]
                )
            summary = table_summary(conn, tenant, entity)
            changed = result.changes["change"].value_counts()
            metadata[f"{name}.table"] = qualified_name(tenant, result.table)
            metadata[f"{name}.rows"] = dg.MetadataValue.int(summary["rows"])
            metadata[f"{name}.read"] = dg.MetadataValue.int(result.read_rows)
            metadata[f"{name}.changes"] = dg.MetadataValue.json({str(k): int(v) for k, v in changed.items()})
            metadata[f"{name}.malformed_rows"] = dg.MetadataValue.int(summary["malformed_rows"])
            metadata[f"{name}.unkeyed_rows"] = dg.MetadataValue.int(summary["unkeyed_rows"])
            metadata[f"{name}.malformed_by_field"] = dg.MetadataValue.json(summary["malformed_by_field"])
            metadata[f"{name}.status"] = dg.MetadataValue.json(summary["status"])
            if result.unknown_columns:
                metadata[f"{name}.unknown_columns"] = dg.MetadataValue.json(result.unknown_columns)
    return dg.MaterializeResult(metadata=metadata)


crm_snapshot_schema = pandera_check(
    crm_snapshot,
    name="crm_snapshot_schema",
    description="Pandera: snapshot columns and types, and the invariants of every well-formed row.",
    entities=Entity,
    schema_for=snapshot_schema,
    read=lambda conn, tenant, entity, ids: tables.read_snapshot(conn, tenant, entity, ids=ids),
    table_for=tables.snapshot,
    rows_of_run=snapshot_rows_of_run,
    # Malformed rows may repeat an id (they are kept and flagged); well-formed ones may not.
    duplicate_ids=lambda conn, tenant, entity: repeated_ids(
        conn, tenant, tables.snapshot(entity), "NOT malformed"
    ),
)
