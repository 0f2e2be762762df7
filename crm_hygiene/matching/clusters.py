"""Clusters of one entity at the auto-merge and review thresholds, with stable entity ids."""

from __future__ import annotations

import numpy as np
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
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every live record (`live`: id, version) with its auto and review cluster (label and
    size), its stable entity id and the version it was clustered at (for the next incremental run).

    Entity ids follow the auto clusters: records the matcher is sure of are one entity; a
    review cluster is only a question until someone answers it.

    `previous` (the last complete run's table, on an incremental run): an auto cluster made of
    exactly the records of one previous auto cluster keeps that cluster's entity id without
    asking the registry, which is given the other clusters only
    (`DedupRegistry.assign_changed_entity_ids`). No other cluster
    can hold that id (its records were all in the unchanged cluster), so the ids come out as a
    call with every cluster would give them.
    """
    rules = rules or MergePolicy()
    ids = live["id"].astype(str).reset_index(drop=True)
    pairs = within(pairs, set(ids))
    # Sorted once: `cluster` keeps a sorted id list as it is instead of sorting it per threshold.
    ordered = ids.sort_values(ignore_index=True)
    auto = cluster(ordered, pairs, rules.auto_merge_threshold).rename(columns={"cluster": "auto_cluster"})
    review = cluster(ordered, pairs, rules.review_threshold).rename(columns={"cluster": "review_cluster"})
    frame = auto.merge(review, on="record_id", how="left")
    assigned = assign_ids(
        registry,
        tenant,
        entity,
        auto.rename(columns={"auto_cluster": "cluster"}),
        run_id=run_id,
        previous=previous,
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


def assign_ids(
    registry: DedupRegistry,
    tenant: str,
    entity: Entity,
    clusters: pd.DataFrame,
    *,
    run_id: str,
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """record_id, entity_id for `clusters` (record_id, cluster): the registry's ids, asked only
    for the clusters `previous` does not hold unchanged (see `cluster_records`)."""
    kind = Entity(entity).value
    kept = unchanged_clusters(clusters, previous)
    if previous is None:
        return registry.assign_entity_ids(tenant, kind, clusters, run_id=run_id)
    assigned = registry.assign_changed_entity_ids(
        tenant,
        kind,
        clusters[~clusters["record_id"].astype(str).isin(kept.index)],
        run_id=run_id,
        reserved=set(kept),
    )
    if assigned is None:
        # A record of a changed cluster holds an id of an unchanged one: the rules must weigh
        # both clusters, so every cluster is given.
        return registry.assign_entity_ids(tenant, kind, clusters, run_id=run_id)
    if kept.empty:
        return assigned
    return pd.concat(
        [assigned, pd.DataFrame({"record_id": kept.index.to_numpy(), "entity_id": kept.to_numpy()})],
        ignore_index=True,
    )


def unchanged_clusters(clusters: pd.DataFrame, previous: pd.DataFrame | None) -> pd.Series:
    """Entity id by record id, for the records of every cluster (record_id, cluster) whose
    members are exactly those of one cluster of `previous` (record_id, auto_cluster,
    auto_size, entity_id); empty without `previous`."""
    empty = pd.Series([], index=pd.Index([], dtype=object), dtype=object)
    if previous is None or previous.empty or clusters.empty:
        return empty
    # One position per record of `previous`; labels as integer codes (min and max per group
    # are then integer reductions, where `nunique` over text was most of the time).
    previous = previous.drop_duplicates("record_id")
    before_ids = pd.Index(previous["record_id"].astype(str))
    at = before_ids.get_indexer(clusters["record_id"].astype(str))  # -1: not in `previous`
    label_codes = pd.factorize(previous["auto_cluster"])[0]
    held = previous["entity_id"].notna().to_numpy()
    seen = at >= 0
    label = np.where(seen, label_codes[at], -1)
    frame = pd.DataFrame(
        {
            "cluster": pd.factorize(clusters["cluster"])[0],
            "label": label,
            "ok": seen & np.where(seen, held[at], False),
            "size_before": np.where(seen, previous["auto_size"].to_numpy()[at], -1),
        }
    )
    grouped = frame.groupby("cluster", sort=False)
    # Every member was in the same previous cluster, with an id, and that cluster had no
    # other member: then it is the same set of records.
    same = (
        grouped["label"].transform("min").eq(grouped["label"].transform("max"))
        & grouped["ok"].transform("all")
        & frame["size_before"].eq(grouped["label"].transform("size"))
    ).to_numpy()
    kept_at = at[same]
    return pd.Series(
        previous["entity_id"].to_numpy()[kept_at],
        index=pd.Index(before_ids[kept_at].to_numpy()),
        dtype=object,
    )


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
