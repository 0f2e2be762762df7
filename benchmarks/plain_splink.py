"""Baselines: plain Splink 5 on DuckDB, built the way its tutorial builds a model, on labelled data.

    python benchmarks/plain_splink.py --threshold 0.95
    python benchmarks/plain_splink.py --datasets fake_1000 historical_50k

For each dataset a dedupe model gets sensible comparisons on the columns it has, blocking
rules, a prior from deterministic rules, u from random sampling and m from EM on two blocking
rules (Splink tutorial 04). It then predicts, clusters at `--threshold` match probability and
scores the clusters against the true entity labels with pairwise precision, recall and F1
(`crm_hygiene.matching.evaluate`). Labels are never shown to Splink.

Prints one JSON line per dataset (dataset, records, precision, recall, f1, seconds, plus the
pair counts), then one line with the machine and the peak memory. `seconds` is wall time for
loading, training, predicting, clustering and scoring. A dataset whose files are absent is
skipped with a message on stderr. Datasets live in ../shared/datasets from the project root
(`--datasets-dir`); see each folder's README for columns, labels and licence.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import splink.comparison_library as cl
from machine import machine, peak_rss_mb
from splink import ColumnExpression, DuckDBAPI, Linker, SettingsCreator, block_on

from crm_hygiene.matching.evaluate import pairwise_scores

if TYPE_CHECKING:
    # Splink exports the creators only from its internals; they are used here for type hints alone.
    from splink.internals.blocking_rule_creator import BlockingRuleCreator
    from splink.internals.comparison_creator import ComparisonCreator

DEFAULT_DATASETS_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DEFAULT_DATASETS = ("fake_1000", "chicago_early_childhood_orgs", "patstat_nl_orgs")
# Sampling in Splink 5 is a hash of the record id, so training is repeatable; the seed picks the sample.
SEED = 42
# The tutorial keeps pairs scoring at least this, then clusters at the (higher) threshold.
PREDICT_THRESHOLD = 0.1

Loader = Callable[[Path], tuple[pd.DataFrame, pd.Series]]


@dataclass(frozen=True)
class Baseline:
    """One dataset and the plain Splink model for it."""

    name: str
    files: tuple[str, ...]
    load: Loader  # -> (records with a unique_id column, truth labels indexed by unique_id)
    comparisons: list[ComparisonCreator]
    blocking_rules: list[BlockingRuleCreator | str]
    deterministic_rules: list[BlockingRuleCreator | str]
    recall: float
    em_blocking_rules: list[BlockingRuleCreator | str]
    u_max_pairs: float = 2e6
    em_without_term_frequencies: bool = False


def clean_text(values: pd.Series) -> pd.Series:
    """Lower case, punctuation to spaces, single spaces; empty becomes missing."""
    text = values.fillna("").astype(str).str.lower().str.replace(r"[^0-9a-z]+", " ", regex=True).str.strip()
    return text.where(text != "", None)


# --- datasets --------------------------------------------------------------------------------------


def load_fake_1000(folder: Path) -> tuple[pd.DataFrame, pd.Series]:
    df = pd.read_csv(folder / "fake_1000.csv")
    truth = df.set_index("unique_id")["cluster"]
    return df.drop(columns=["cluster"]), truth


def load_historical_50k(folder: Path) -> tuple[pd.DataFrame, pd.Series]:
    df = pd.read_parquet(folder / "historical_figures_with_errors_50k.parquet")
    truth = df.set_index("unique_id")["cluster"]
    return df.drop(columns=["cluster"]), truth


def load_chicago(folder: Path) -> tuple[pd.DataFrame, pd.Series]:
    raw = pd.read_csv(folder / "csv_example_input_with_true_ids.csv", dtype=str, keep_default_na=False)
    records = pd.DataFrame(
        {
            "unique_id": raw["Id"].astype(int),
            "site_name": clean_text(raw["Site name"]),
            "address": clean_text(raw["Address"]),
            "zip": clean_text(raw["Zip"]),
            "phone": clean_text(raw["Phone"]),
        }
    )
    truth = pd.Series(raw["True Id"].to_numpy(), index=records["unique_id"], name="true_id")
    return records, truth


def _split_list(values: pd.Series) -> pd.Series:
    """'A**B** C' -> ['a', 'b', 'c'] (cleaned, deduplicated, sorted); nothing left -> missing."""
    parts = clean_text(values.fillna("").str.split("**", regex=False).explode()).dropna()
    lists = parts.groupby(level=0).agg(lambda group: sorted(set(group))).reindex(values.index)
    return lists.astype(object).where(lists.notna(), None)


def load_patstat(folder: Path) -> tuple[pd.DataFrame, pd.Series]:
    raw = pd.read_csv(folder / "patstat_input.csv", dtype=str, keep_default_na=False)
    reference = pd.read_csv(folder / "patstat_reference.csv", dtype=str, keep_default_na=False)
    raw = raw.merge(reference[["person_id", "leuven_id"]], on="person_id", how="left", validate="1:1")
    lat, lng = raw["Lat"].astype(float), raw["Lng"].astype(float)
    no_geocode = (lat == 0.0) & (lng == 0.0)
    records = pd.DataFrame(
        {
            "unique_id": raw["person_id"].astype(int),
            "name": clean_text(raw["Name"]),
            "lat": lat.mask(no_geocode),
            "lng": lng.mask(no_geocode),
            "ipc_classes": _split_list(raw["Class"]),
            "coauthors": _split_list(raw["Coauthor"]),
        }
    )
    truth = pd.Series(raw["leuven_id"].to_numpy(), index=records["unique_id"], name="leuven_id")
    return records, truth


BASELINES: dict[str, Baseline] = {
    # Exactly the model of Splink's tutorial 04 (docs/demos/tutorials/04_Estimating_model_parameters).
    "fake_1000": Baseline(
        name="fake_1000",
        files=("splink_datasets/fake_1000.csv",),
        load=lambda d: load_fake_1000(d / "splink_datasets"),
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("surname"),
            cl.LevenshteinAtThresholds(ColumnExpression("dob").cast_to_string(), 1),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.EmailComparison("email"),
        ],
        blocking_rules=[block_on("first_name", "city"), block_on("surname")],
        deterministic_rules=[
            block_on("first_name", "dob"),
            "l.first_name = r.first_name and levenshtein(r.surname, l.surname) <= 2",
            block_on("email"),
        ],
        recall=0.7,
        em_blocking_rules=[block_on("first_name", "surname"), block_on("dob")],
    ),
    # Organisation sites: name, street address, zip, 7-digit phone. Text lower-cased and de-punctuated.
    "chicago_early_childhood_orgs": Baseline(
        name="chicago_early_childhood_orgs",
        files=("chicago_early_childhood_orgs/csv_example_input_with_true_ids.csv",),
        load=lambda d: load_chicago(d / "chicago_early_childhood_orgs"),
        comparisons=[
            cl.JaroWinklerAtThresholds("site_name", [0.9, 0.7]).configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("address", [0.9, 0.7]),
            cl.ExactMatch("zip").configure(term_frequency_adjustments=True),
            cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
        ],
        blocking_rules=[block_on("phone"), block_on("zip"), block_on("site_name"), block_on("address")],
        deterministic_rules=[block_on("site_name", "address"), block_on("phone", "zip")],
        recall=0.7,
        em_blocking_rules=[block_on("zip"), block_on("phone")],
    ),
    # Patent applicants: name variants, optional geocode, IPC classes and co-applicants as arrays.
    "patstat_nl_orgs": Baseline(
        name="patstat_nl_orgs",
        files=("patstat_nl_orgs/patstat_input.csv", "patstat_nl_orgs/patstat_reference.csv"),
        load=lambda d: load_patstat(d / "patstat_nl_orgs"),
        comparisons=[
            cl.JaroWinklerAtThresholds("name", [0.9, 0.7]).configure(term_frequency_adjustments=True),
            cl.DistanceInKMAtThresholds("lat", "lng", [1, 10, 50]),
            cl.ArrayIntersectAtSizes("ipc_classes", [3, 1]),
            cl.ArrayIntersectAtSizes("coauthors", [1]),
        ],
        blocking_rules=[block_on("name"), block_on("substr(name, 1, 4)"), block_on("lat", "lng")],
        deterministic_rules=[block_on("name")],
        recall=0.7,
        em_blocking_rules=[block_on("name"), block_on("lat", "lng")],
    ),
    # Opt-in (50,578 rows): the model of Splink's deduplicate_50k_synthetic example.
    "historical_50k": Baseline(
        name="historical_50k",
        files=("splink_datasets/historical_figures_with_errors_50k.parquet",),
        load=lambda d: load_historical_50k(d / "splink_datasets"),
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=False),
            cl.NameComparison("surname").configure(term_frequency_adjustments=False),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.PostcodeComparison("postcode_fake"),
            cl.ExactMatch("birth_place").configure(term_frequency_adjustments=False),
            cl.ExactMatch("occupation").configure(term_frequency_adjustments=False),
        ],
        blocking_rules=[
            block_on("substr(first_name,1,3)", "substr(surname,1,4)"),
            block_on("surname", "dob"),
            block_on("first_name", "dob"),
            block_on("postcode_fake", "first_name"),
            block_on("postcode_fake", "surname"),
            block_on("dob", "birth_place"),
            block_on("substr(postcode_fake,1,3)", "dob"),
            block_on("substr(postcode_fake,1,3)", "first_name"),
            block_on("substr(postcode_fake,1,3)", "surname"),
            block_on("substr(first_name,1,2)", "substr(surname,1,2)", "substr(dob,1,4)"),
        ],
        deterministic_rules=[
            "l.first_name = r.first_name and l.surname = r.surname and l.dob = r.dob",
            "substr(l.first_name,1,2) = substr(r.first_name,1,2) and l.surname = r.surname "
            "and substr(l.postcode_fake,1,2) = substr(r.postcode_fake,1,2)",
            "l.dob = r.dob and l.postcode_fake = r.postcode_fake",
        ],
        recall=0.6,
        em_blocking_rules=[block_on("first_name", "surname"), block_on("dob")],
        u_max_pairs=5e6,
        em_without_term_frequencies=True,
    ),
}


# --- running ---------------------------------------------------------------------------------------


def run_baseline(
    baseline: Baseline, datasets_dir: Path, threshold: float, log_level: int
) -> dict[str, object]:
    """Train, predict, cluster and score one dataset; returns the JSON-able result."""
    started = time.perf_counter()
    records, truth = baseline.load(datasets_dir)

    db_api = DuckDBAPI()
    records_sdf = db_api.register(records, dataset_display_name=baseline.name)
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=baseline.comparisons,
        blocking_rules_to_generate_predictions=baseline.blocking_rules,
        retain_matching_columns=False,
    )
    linker = Linker(records_sdf, settings, log_level=log_level)
    linker.training.estimate_probability_two_random_records_match(
        baseline.deterministic_rules, recall=baseline.recall
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=baseline.u_max_pairs, seed=SEED)
    for rule in baseline.em_blocking_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=baseline.em_without_term_frequencies
        )

    predictions = linker.inference.predict(
        threshold_match_probability=min(PREDICT_THRESHOLD, threshold), warning_mode="never"
    )
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    # Fetch fully: a half-read DuckDB result blocks Splink's next query on the same connection.
    assignments = clusters.as_duckdbpyrelation().select("unique_id, cluster_id").df()
    scores = pairwise_scores(assignments.set_index("unique_id")["cluster_id"], truth)

    return {
        "dataset": baseline.name,
        "records": len(records),
        "precision": round(scores.precision, 4),
        "recall": round(scores.recall, 4),
        "f1": round(scores.f1, 4),
        "seconds": round(time.perf_counter() - started, 2),
        "threshold": threshold,
        "true_pairs": scores.true_pairs,
        "predicted_pairs": scores.predicted_pairs,
        "correct_pairs": scores.correct_pairs,
        "prior": linker.misc.save_model_to_json()["probability_two_random_records_match"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--threshold", type=float, default=0.95, help="match probability to cluster at")
    parser.add_argument("--datasets", nargs="+", choices=sorted(BASELINES), default=list(DEFAULT_DATASETS))
    parser.add_argument("--datasets-dir", type=Path, default=DEFAULT_DATASETS_DIR)
    parser.add_argument("--verbose", action="store_true", help="show Splink's training log on stderr")
    args = parser.parse_args(argv)
    if not 0.0 < args.threshold < 1.0:
        parser.error("--threshold must be a probability strictly between 0 and 1")

    log_level = logging.INFO if args.verbose else logging.ERROR
    for name in args.datasets:
        baseline = BASELINES[name]
        missing = [f for f in baseline.files if not (args.datasets_dir / f).is_file()]
        if missing:
            print(f"skip {name}: missing {', '.join(missing)} under {args.datasets_dir}", file=sys.stderr)
            continue
        print(json.dumps(run_baseline(baseline, args.datasets_dir, args.threshold, log_level)), flush=True)
    print(json.dumps({"machine": machine(), "peak_rss_mb": round(peak_rss_mb(), 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
