"""Scoring record pairs with a trained model, clustering them, and matching new records.

- `predict_pairs(entity, frame, model)`: every blocked pair of `frame` scoring at least
  `threshold`, as `unique_id_l < unique_id_r`, `match_probability`, `match_weight`, and per
  comparison `mw_<name>` (its partial match weight in bits, its term-frequency adjustment
  included, so `match_weight = log2(prior / (1 - prior)) + sum(mw_*)`) and `gamma_<name>`
  (the level index Splink assigned: -1 null, 0 the "else" level, higher = closer).
- `cluster(record_ids, pairs, threshold)`: connected components over pairs at or above the
  threshold; the cluster label is the smallest record id in the cluster (Splink's choice).
- `predict_and_cluster(...)`: both, without taking the pairs through pandas in between.
- `predict_new(entity, existing, new, model)`: only pairs that involve a new record (new x
  existing and new x new); existing x existing pairs are not scored again. Term frequencies
  and the table-level input columns come from existing and new records together, as they
  would in a full run.

Every function runs on one DuckDB connection, passed in or opened for the call, and leaves no
Splink tables behind on it (`session.SplinkSession`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from splink import Linker
from splink.clustering import cluster_pairwise_predictions_at_threshold

from crm_hygiene.matching.inputs import as_arrow, ensure_match_input, is_match_input, match_input
from crm_hygiene.matching.model import TrainedModel, configured_settings
from crm_hygiene.matching.session import SplinkSession
from crm_hygiene.matching.settings import comparisons, tf_columns
from crm_hygiene.model.records import Entity
from crm_hygiene.policy.schema import MergePolicy

if TYPE_CHECKING:
    from splink.internals.splink_dataframe import SplinkDataFrame

# Defaults for callers without a tenant's policy (the file command, notebooks): the shipped
# policy's thresholds, so the numbers live in one place (crm_hygiene/policy/default.yaml).
_DEFAULTS = MergePolicy()


def pair_columns(entity: Entity) -> list[str]:
    """The columns of `predict_pairs` / `predict_new` output, in order."""
    names = [c.name for c in comparisons(entity)]
    return [
        "unique_id_l",
        "unique_id_r",
        "match_probability",
        "match_weight",
        *(f"mw_{n}" for n in names),
        *(f"gamma_{n}" for n in names),
        "match_key",
    ]


def predict_pairs(
    entity: Entity,
    frame: pd.DataFrame,
    model: TrainedModel,
    *,
    threshold: float = _DEFAULTS.review_threshold,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Pairs of `frame` (normalized frame or match input) with match probability >= `threshold`."""
    entity = _entity_of(entity, model)
    _check_threshold(threshold)
    inputs = ensure_match_input(entity, frame)
    if len(inputs) < 2:
        return empty_pairs(entity)
    with SplinkSession(con) as session:
        records = session.register(as_arrow(entity, inputs), f"{entity.value}_records")
        predictions = _predict(entity, records, model, threshold)
        return _lean_pairs(session, entity, [predictions]).df()


def cluster(
    record_ids: Iterable[object],
    pairs: pd.DataFrame,
    threshold: float = _DEFAULTS.auto_merge_threshold,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """`record_id`, `cluster` for every id in `record_ids`, joining pairs with probability >= threshold.

    Every record appears once; a record no pair reaches is a cluster of its own. Pairs naming
    a record outside `record_ids` raise ValueError (they would silently grow the set).
    """
    _check_threshold(threshold)
    ids = pd.Series(list(record_ids) if not isinstance(record_ids, pd.Series | pd.Index) else record_ids)
    # One sorted index of the ids serves the uniqueness check, the lookups of the pairs' ids and
    # the output order: at a million records, hashing the ids once per use was most of the time.
    known = pd.Index(ids.astype(str).to_numpy(dtype=object))
    if not known.is_monotonic_increasing:
        known = known.sort_values()
    if not known.is_unique:
        raise ValueError(f"cluster: record ids repeat, e.g. {known[known.duplicated()][:3].tolist()}")
    strong = pairs.loc[
        pairs["match_probability"] >= threshold, ["unique_id_l", "unique_id_r", "match_probability"]
    ]
    strong = strong.astype({"unique_id_l": str, "unique_id_r": str})
    unknown = (known.get_indexer(strong["unique_id_l"]) < 0) | (known.get_indexer(strong["unique_id_r"]) < 0)
    if unknown.any():
        bad = strong.loc[unknown, ["unique_id_l", "unique_id_r"]].head(3).to_numpy().tolist()
        raise ValueError(f"cluster: {int(unknown.sum())} pair(s) name records not in record_ids, e.g. {bad}")
    labels = known.to_numpy(dtype=object)
    alone = pd.DataFrame({"record_id": labels, "cluster": labels.copy()})
    if strong.empty:
        # Nothing joins: each record is its own cluster, no database needed.
        return alone
    # Only records some pair reaches need the graph (a cluster is labelled by its smallest id
    # either way); the others, most of a million, are clusters of their own.
    joined = pd.unique(pd.concat([strong["unique_id_l"], strong["unique_id_r"]], ignore_index=True))
    with SplinkSession(con) as session:
        nodes = session.register(pa.table({"unique_id": pa.array(joined, pa.string())}), "nodes")
        edges = session.register(pa.Table.from_pandas(strong, preserve_index=False), "edges")
        found = _clusters(session, nodes, edges, threshold).df()
    at = known.get_indexer(found["record_id"].astype(str))
    alone.iloc[at, alone.columns.get_loc("cluster")] = found["cluster"].to_numpy(dtype=object)
    return alone


def predict_and_cluster(
    entity: Entity,
    frame: pd.DataFrame,
    model: TrainedModel,
    *,
    threshold: float = _DEFAULTS.review_threshold,
    cluster_threshold: float = _DEFAULTS.auto_merge_threshold,
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`predict_pairs` and `cluster` in one pass: the pairs reach the clustering as a DuckDB table."""
    entity = _entity_of(entity, model)
    _check_threshold(threshold)
    _check_threshold(cluster_threshold)
    inputs = ensure_match_input(entity, frame)
    if len(inputs) < 2:
        ids = inputs["unique_id"].astype(str).to_numpy(dtype=object)
        return empty_pairs(entity), pd.DataFrame({"record_id": ids, "cluster": ids})
    with SplinkSession(con) as session:
        records = session.register(as_arrow(entity, inputs), f"{entity.value}_records")
        predictions = _predict(entity, records, model, min(threshold, cluster_threshold))
        pairs = _lean_pairs(session, entity, [predictions]).filter(f"match_probability >= {threshold!r}").df()
        clusters = _clusters(session, records, predictions, cluster_threshold).df()
    return pairs, clusters


def predict_new(
    entity: Entity,
    existing: pd.DataFrame,
    new: pd.DataFrame,
    model: TrainedModel,
    threshold: float = _DEFAULTS.review_threshold,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Pairs involving at least one record of `new`, scored against `existing` and each other.

    Both are normalized frames (not match inputs): the rarest name word and the shared-value
    guard of `inputs` are computed over existing and new together, as a full run would.
    Record ids must not repeat across the two.
    """
    entity = _entity_of(entity, model)
    _check_threshold(threshold)
    for name, part in (("existing", existing), ("new", new)):
        if is_match_input(entity, part) and "id" not in part.columns:
            raise ValueError(
                f"predict_new: `{name}` must be a normalized frame, not a match input: table-level "
                "columns (rarest name word, shared values) are computed over existing and new together"
            )
    overlap = pd.Index(existing["id"]).intersection(pd.Index(new["id"]))
    if len(overlap):
        raise ValueError(
            f"predict_new: {len(overlap)} id(s) are in both existing and new, e.g. {list(overlap[:3])}"
        )
    inputs = match_input(entity, pd.concat([existing, new], ignore_index=True))
    is_new = inputs["unique_id"].isin(pd.Index(new["id"].astype(str))).to_numpy()
    if not is_new.any() or len(inputs) < 2:
        return empty_pairs(entity)
    with SplinkSession(con) as session:
        everything = session.register(as_arrow(entity, inputs), f"{entity.value}_all")
        fresh = session.register(as_arrow(entity, inputs[is_new]), f"{entity.value}_new")
        linker = Linker(everything, configured_settings(model), log_level=None)
        # Term frequencies of all records: a value's weight must not depend on which batch it came in.
        for column in tf_columns(entity):
            linker.table_management.compute_tf_table(column)
        parts: list[SplinkDataFrame] = []
        if is_new.sum() > 1:
            parts.append(
                linker.inference.predict_within(
                    fresh, threshold_match_probability=threshold, warning_mode="never"
                )
            )
        if (~is_new).any():
            old = session.register(as_arrow(entity, inputs[~is_new]), f"{entity.value}_existing")
            parts.append(
                linker.inference.predict_between(
                    old, fresh, threshold_match_probability=threshold, warning_mode="never"
                )
            )
        return _lean_pairs(session, entity, parts).df()


def empty_pairs(entity: Entity) -> pd.DataFrame:
    """A pair frame with no rows and the usual columns and types."""
    columns: dict[str, pd.Series] = {}
    for name in pair_columns(entity):
        if name.startswith("gamma_"):
            dtype: object = np.int32
        elif name.startswith(("mw_", "match_probability", "match_weight")):
            dtype = np.float64
        else:
            dtype = object
        columns[name] = pd.Series([], dtype=dtype)
    return pd.DataFrame(columns)


# --- internals ------------------------------------------------------------------------------------


def _entity_of(entity: Entity, model: TrainedModel) -> Entity:
    entity = Entity(entity)
    if model.entity is not entity:
        raise ValueError(f"a {model.entity.value} model cannot score {entity.value} records")
    return entity


def _check_threshold(threshold: float) -> None:
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"a match probability threshold must lie in [0, 1], got {threshold}")


def _predict(
    entity: Entity, records: SplinkDataFrame, model: TrainedModel, threshold: float
) -> SplinkDataFrame:
    linker = Linker(records, configured_settings(model), log_level=None)
    # warning_mode="never": untrained levels are reported once, at training time.
    return linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")


def _lean_pairs(
    session: SplinkSession, entity: Entity, parts: list[SplinkDataFrame]
) -> duckdb.DuckDBPyRelation:
    """The public pair columns from Splink's prediction tables, in SQL (no pandas in between)."""
    if not parts:
        return session.con.from_df(empty_pairs(entity))
    selects = []
    for part in parts:
        available = set(session.con.table(part.physical_name).columns)
        weights = []
        for c in comparisons(entity):
            # Splink keeps the TF adjustment apart; one number per comparison reads better.
            tf = f" + coalesce(mw_tf_adj_{c.name}, 0)" if f"mw_tf_adj_{c.name}" in available else ""
            weights.append(f"mw_{c.name}{tf} AS mw_{c.name}")
        gammas = [f"gamma_{c.name}" for c in comparisons(entity)]
        selects.append(
            "SELECT least(unique_id_l, unique_id_r) AS unique_id_l, greatest(unique_id_l, unique_id_r) AS unique_id_r, "
            f"match_probability, match_weight, {', '.join(weights)}, {', '.join(gammas)}, "
            f"CAST(match_key AS VARCHAR) AS match_key FROM {part.physical_name}"
        )
    sql = " UNION ALL ".join(selects) + " ORDER BY unique_id_l, unique_id_r"
    return session.con.sql(sql)


def _clusters(
    session: SplinkSession, nodes: SplinkDataFrame, edges: SplinkDataFrame, threshold: float
) -> duckdb.DuckDBPyRelation:
    result = cluster_pairwise_predictions_at_threshold(
        nodes, edges, session.db_api, "unique_id", threshold_match_probability=threshold
    )
    return session.con.sql(
        f"SELECT CAST(unique_id AS VARCHAR) AS record_id, CAST(cluster_id AS VARCHAR) AS cluster "
        f"FROM {result.physical_name} ORDER BY record_id"
    )
