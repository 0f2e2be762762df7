"""The one Definitions object; pyproject's [tool.dagster] and workspace.yaml both point here."""

import dagster as dg

from crm_hygiene_dagster.assets import ASSET_CHECKS, ASSETS
from crm_hygiene_dagster.jobs import nightly_hygiene, nightly_hygiene_schedule
from crm_hygiene_dagster.jobs.console import console_logger
from crm_hygiene_dagster.resources import CrmStoreResource, LedgerResource, WarehouseResource

# Empty settings resolve from the environment when a run starts (CRM_HYGIENE_* variables),
# so secrets such as database passwords never sit in code or in the UI.
defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=ASSET_CHECKS,
    jobs=[nightly_hygiene],
    loggers={"console": console_logger},
    schedules=[nightly_hygiene_schedule],
    resources={
        "crm_store": CrmStoreResource(),
        "ledger": LedgerResource(),
        "warehouse": WarehouseResource(),
    },
)
