"""Dagster resources wrapping the CRM store, the ledger and the warehouse."""

from crm_hygiene_dagster.resources.crm_store import CrmStoreResource
from crm_hygiene_dagster.resources.ledger import LedgerResource
from crm_hygiene_dagster.resources.warehouse import WarehouseResource

__all__ = ["CrmStoreResource", "LedgerResource", "WarehouseResource"]
