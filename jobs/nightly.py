"""The nightly hygiene job and its schedule: one run per tenant of the ledger's tenant list."""

import dagster as dg

from crm_hygiene_dagster.assets.partitions import sync_tenant_partitions
from crm_hygiene_dagster.resources import LedgerResource

NIGHTLY_CRON = "0 2 * * *"
# A million-contact first run takes well under an hour; six hours is a dead run.
MAX_RUNTIME_SECONDS = 6 * 3600

# One process per run: the DuckDB warehouse accepts a single writer process.
nightly_hygiene = dg.define_asset_job(
    name="nightly_hygiene",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Snapshot, standardize, deduplicate, enrich, score and apply for one tenant.",
    # Run monitoring (deploy/dagster.yaml) fails a run still going after this long: a run
    # worker killed without a trace would otherwise hold the one run slot for good.
    tags={"dagster/max_runtime": str(MAX_RUNTIME_SECONDS)},
)


@dg.schedule(
    job=nightly_hygiene,
    cron_schedule=NIGHTLY_CRON,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night at 02:00 UTC, one run per tenant registered in the ledger.",
)
def nightly_hygiene_schedule(context: dg.ScheduleEvaluationContext, ledger: LedgerResource):
    # build_schedule_from_partitioned_job rejects dynamic partitions, so fan out here. The
    # tenant list is the ledger's; the partitions follow it so the UI shows the same tenants.
    with ledger.open() as book:
        keys = book.tenants.names()
    if not keys:
        return dg.SkipReason("no tenants registered: run `crm-hygiene tenants add NAME`")
    sync_tenant_partitions(context.instance, keys)
    day = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return [dg.RunRequest(run_key=f"{key}:{day}", partition_key=key) for key in keys]
