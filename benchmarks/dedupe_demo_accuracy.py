"""Deduplication accuracy on the demo CRM truth: contacts and companies, over match thresholds.

    python benchmarks/dedupe_demo_accuracy.py --contacts 100000

The demo CRM (`--contacts` contacts, a fifth as many companies) is generated, normalized and
cached once (`dedupe_data.prepare`). Per entity the script trains a model
(`crm_hygiene.matching.model.train`, default settings), scores every blocked pair with it
(`predict_pairs`, threshold 0), clusters the pairs at each threshold (`cluster`: connected
components) and scores each clustering against the true entities with pairwise precision,
recall and F1 (`crm_hygiene.matching.evaluate.pairwise_scores`). "overall" pools the pair
counts of contacts and companies.

For contacts, the hard negatives of the demo (relatives sharing a home, colleagues sharing a
switchboard number): how many such pairs of people the clusters at the auto-merge threshold
join. Also reported per entity: the blocking ceiling (the share of true pairs that some blocking rule
scores at all) and, at the auto-merge threshold, the wrong pairs scored at or above it
(direct edges, not pairs implied by clustering), by the blocking rule that found them.

Targets (from the issue): precision >= 0.995 at the auto-merge threshold and F1 >= 0.95.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import dedupe_data
import pandas as pd
from machine import high_water_mb, machine

from crm_hygiene.matching.evaluate import PairwiseScores, count_pairs, pairwise_scores, scores_from_counts
from crm_hygiene.matching.model import train
from crm_hygiene.matching.predict import cluster, predict_pairs
from crm_hygiene.model import Entity
from crm_hygiene.policy.schema import MergePolicy

# The shipped policy's thresholds: what a tenant without a policy of its own runs on.
AUTO_MERGE_THRESHOLD = MergePolicy().auto_merge_threshold
REVIEW_THRESHOLD = MergePolicy().review_threshold

THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.99, 0.999)
TARGET_PRECISION_AT_AUTO = 0.995
TARGET_F1 = 0.95


def _row(s: PairwiseScores) -> dict[str, Any]:
    return {
        "precision": round(s.precision, 4),
        "recall": round(s.recall, 4),
        "f1": round(s.f1, 4),
        "predicted_pairs": s.predicted_pairs,
        "correct_pairs": s.correct_pairs,
        "true_pairs": s.true_pairs,
    }


def hard_negatives_merged(
    clusters: pd.Series, truth: pd.Series, pairs: pd.DataFrame
) -> dict[str, dict[str, int]]:
    """Per kind of hard negative: how many pairs of people there are, and how many the clusters
    join (some record of one person in a cluster with some record of the other)."""
    by_entity = pd.DataFrame(
        {"entity": truth.reindex(clusters.index).to_numpy(), "cluster": clusters.to_numpy()}
    )
    located = by_entity.drop_duplicates()
    joined = pairs.merge(located, left_on="contact_entity_id", right_on="entity").merge(
        located, left_on="other_entity_id", right_on="entity", suffixes=("", "_other")
    )
    merged = joined[joined["cluster"] == joined["cluster_other"]].drop_duplicates(
        ["contact_entity_id", "other_entity_id"]
    )
    return {
        str(kind): {"pairs": int(count), "merged": int((merged["kind"] == kind).sum())}
        for kind, count in pairs["kind"].value_counts().sort_index().items()
    }


def evaluate(data: Path, entity: Entity) -> tuple[dict[str, Any], dict[float, PairwiseScores]]:
    frame = dedupe_data.normalized(data, entity)
    truth = dedupe_data.truth(data, entity)

    started = time.perf_counter()
    model = train(entity, frame)
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    scored = predict_pairs(entity, frame, model, threshold=0.0)
    predict_seconds = time.perf_counter() - started

    same = scored["unique_id_l"].map(truth).to_numpy() == scored["unique_id_r"].map(truth).to_numpy()
    true_pairs = count_pairs(truth.groupby(truth, sort=False).size())
    ceiling = int(same.sum()) / true_pairs if true_pairs else 1.0

    table: dict[float, PairwiseScores] = {}
    for threshold in THRESHOLDS:
        clusters = cluster(frame["id"], scored, threshold)
        table[threshold] = pairwise_scores(clusters.set_index("record_id")["cluster"], truth)

    if entity is Entity.CONTACT:
        merged = cluster(frame["id"], scored, AUTO_MERGE_THRESHOLD).set_index("record_id")["cluster"]
        hard = hard_negatives_merged(merged, truth, dedupe_data.hard_negatives(data))
    wrong = scored[(scored["match_probability"] >= AUTO_MERGE_THRESHOLD) & ~same]
    result = {
        "records": len(frame),
        "train_seconds": round(train_seconds, 2),
        "predict_all_blocked_pairs_seconds": round(predict_seconds, 2),
        "blocked_pairs": len(scored),
        "blocking_ceiling": round(ceiling, 4),
        "untrained_levels": model.metadata.get("untrained_levels"),
        f"at_auto_{AUTO_MERGE_THRESHOLD}": _row(table[AUTO_MERGE_THRESHOLD]),
        f"at_review_{REVIEW_THRESHOLD}": _row(table[REVIEW_THRESHOLD]),
        "by_threshold": {str(t): _row(s) for t, s in table.items()},
        **({"hard_negatives_at_auto": hard} if entity is Entity.CONTACT else {}),
        "wrong_edges_at_auto": len(wrong),
        "wrong_edges_at_auto_by_match_key": {
            str(k): int(v) for k, v in wrong["match_key"].value_counts().sort_index().items()
        },
    }
    return result, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7, help="demo seed")
    parser.add_argument("--cache", type=Path, default=Path(".crm_hygiene/benchmarks"))
    args = parser.parse_args(argv)

    data = dedupe_data.prepare(args.contacts, args.seed, args.cache)
    entities: dict[str, Any] = {}
    tables: dict[Entity, dict[float, PairwiseScores]] = {}
    for entity in dedupe_data.ENTITIES:
        entities[entity.value], tables[entity] = evaluate(data, entity)

    overall: dict[str, Any] = {}
    for threshold in THRESHOLDS:
        parts = [tables[e][threshold] for e in dedupe_data.ENTITIES]
        overall[str(threshold)] = _row(
            scores_from_counts(
                sum(p.true_pairs for p in parts),
                sum(p.predicted_pairs for p in parts),
                sum(p.correct_pairs for p in parts),
            )
        )

    auto = str(AUTO_MERGE_THRESHOLD)
    checks = {
        f"{name} precision at {auto} >= {TARGET_PRECISION_AT_AUTO}": row[auto]["precision"]
        >= TARGET_PRECISION_AT_AUTO
        for name, row in [*((e, entities[e]["by_threshold"]) for e in entities), ("overall", overall)]
    }
    checks |= {
        f"{name} F1 at {auto} >= {TARGET_F1}": row[auto]["f1"] >= TARGET_F1
        for name, row in [*((e, entities[e]["by_threshold"]) for e in entities), ("overall", overall)]
    }
    print(
        json.dumps(
            {
                "contacts": args.contacts,
                "companies": max(args.contacts // 5, 1),
                "auto_merge_threshold": AUTO_MERGE_THRESHOLD,
                "machine": {**machine(), "splink": version("splink"), "duckdb": version("duckdb")},
                "entities": entities,
                "overall_by_threshold": overall,
                "targets": checks,
                "peak_rss_mb": round(high_water_mb()),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
