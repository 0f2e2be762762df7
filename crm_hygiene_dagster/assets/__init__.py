"""Dagster assets and asset checks: thin wrappers that call crm_hygiene."""

from crm_hygiene_dagster.assets.snapshot import crm_snapshot, crm_snapshot_schema
from crm_hygiene_dagster.assets.standardize import (
    normalized_records,
    normalized_records_expectations,
    normalized_records_schema,
    standardization_proposals_asset,
)

ASSETS = [crm_snapshot, normalized_records, standardization_proposals_asset]
ASSET_CHECKS = [crm_snapshot_schema, normalized_records_schema, normalized_records_expectations]

__all__ = [
    "ASSETS",
    "ASSET_CHECKS",
    "crm_snapshot",
    "crm_snapshot_schema",
    "normalized_records",
    "normalized_records_expectations",
    "normalized_records_schema",
    "standardization_proposals_asset",
]
