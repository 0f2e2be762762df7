"""Clusters of one entity at the auto-merge and review thresholds, with stable entity ids."""

from __future__ import annotations

import pandas as pd

from crm_hygiene.ledger.registry import DedupRegistry
from crm_hygiene.matching.pairs import within
from crm_hygiene.matching.predict import cluster
from crm_hygiene.model.records import Entity
from crm_hygiene.policy.schema import MergePolicy

CLUSTER_COLUMNS: tuple[str, ...] = (
    "record_id",
    "entity_id",
    "auto_cluster",
    "auto_size",
    "review_cluster",
    "review_size",
    "version",
)


def cluster_records(
    registry: DedupRegistry,
    tenant: str,
    entity: Entity,
    live: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    run_id: str,
    rules: MergePolicy | None = None,
) -> pd.DataFrame:
    """Every live record (`live`: id, version) with its auto and review cluster (label and
    size), its stable entity id and the version it was clustered at (for the next incremental run).

    Entity ids follow the auto clusters: records the matcher is sure of are one entity; a
    review cluster is only a question until someone answers it.
    """
    rules = rules or MergePolicy()
    ids = live["id"].astype(str).reset_index(drop=True)
    pairs = within(pairs, set(ids))
    auto = cluster(ids, pairs, rules.auto_merge_threshold).rename(columns={"cluster": "auto_cluster"})
    review = cluster(ids, pairs, rules.review_threshold).rename(columns={"cluster": "review_cluster"})
    frame = auto.merge(review, on="record_id", how="left")
    assigned = registry.assign_entity_ids(
        tenant, Entity(entity).value, auto.rename(columns={"auto_cluster": "cluster"}), run_id=run_id
    )
    frame = frame.merge(assigned, on="record_id", how="left")
    for level in ("auto", "review"):
        frame[f"{level}_size"] = (
            frame.groupby(f"{level}_cluster")["record_id"].transform("size").astype("int64")
        )
    version = live["version"] if "version" in live.columns else pd.Series(pd.NA, index=live.index)
    frame["version"] = frame["record_id"].map(pd.Series(version.to_numpy(), index=ids)).astype("Int64")
    frame = frame.sort_values("record_id", kind="stable").reset_index(drop=True)
    return frame[list(CLUSTER_COLUMNS)].astype({"auto_size": "int64", "review_size": "int64"})


def cluster_summary(clusters: pd.DataFrame) -> dict[str, int]:
    """Counts a data engineer reads: clusters of two or more records, at each threshold."""
    out: dict[str, int] = {}
    for level in ("review", "auto"):
        multi = clusters[clusters[f"{level}_size"] >= 2]
        name = "clusters" if level == "review" else "auto_clusters"
        out[name] = int(multi[f"{level}_cluster"].nunique())
        out[f"records_in_{name}"] = len(multi)
    out["largest_cluster"] = int(clusters["review_size"].max()) if len(clusters) else 0
    out["entity_ids"] = int(clusters["entity_id"].nunique())
    return out
