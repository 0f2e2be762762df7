"""Dagster assets and asset checks: thin wrappers that call crm_hygiene."""

from crm_hygiene_dagster.assets.snapshot import crm_snapshot, crm_snapshot_schema

ASSETS = [crm_snapshot]
ASSET_CHECKS = [crm_snapshot_schema]

__all__ = ["ASSETS", "ASSET_CHECKS", "crm_snapshot", "crm_snapshot_schema"]
