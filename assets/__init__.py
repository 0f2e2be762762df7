"""Dagster assets and asset checks: thin wrappers that call crm_hygiene."""

from crm_hygiene_dagster.assets.dedupe import (
    applied_merges,
    candidate_pairs,
    duplicate_clusters,
    merge_proposals_asset,
    merge_proposals_schema_check,
)
from crm_hygiene_dagster.assets.snapshot import crm_snapshot, crm_snapshot_schema
from crm_hygiene_dagster.assets.standardize import (
    normalized_records,
    normalized_records_expectations,
    normalized_records_schema,
    standardization_proposals_asset,
)

ASSETS = [
    crm_snapshot,
    normalized_records,
    standardization_proposals_asset,
    candidate_pairs,
    duplicate_clusters,
    merge_proposals_asset,
    applied_merges,
]
ASSET_CHECKS = [
    crm_snapshot_schema,
    normalized_records_schema,
    normalized_records_expectations,
    merge_proposals_schema_check,
]

__all__ = [
    "ASSETS",
    "ASSET_CHECKS",
    "applied_merges",
    "candidate_pairs",
    "crm_snapshot",
    "crm_snapshot_schema",
    "duplicate_clusters",
    "merge_proposals_asset",
    "merge_proposals_schema_check",
    "normalized_records",
    "normalized_records_expectations",
    "normalized_records_schema",
    "standardization_proposals_asset",
]
