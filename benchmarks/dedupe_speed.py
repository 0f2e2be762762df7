"""Contact deduplication at scale: our matcher against a plain Splink tutorial model, side by side.

    python benchmarks/dedupe_speed.py --contacts 1000000 --repeat 3

The demo CRM (`--contacts` contacts, a fifth as many companies) is generated, normalized and
cached as Parquet once (`dedupe_data.prepare`, outside the timing). Each measurement then runs
in a fresh child process that reads the cache and reports its own peak RSS (VmHWM, read right
after the timed work, before scoring):

- `ours train`: `crm_hygiene.matching.model.train` on the normalized contacts (the match
  input is derived inside the timing, as `train` does when handed a normalized frame).
  The model is written as JSON (`TrainedModel.to_dict`).
- `ours predict`: a new process reads that JSON back (`TrainedModel.from_dict`, no training)
  and runs `predict_and_cluster` (pairs at >= 0.5, clusters at the auto-merge threshold).
- `plain train`: Splink's tutorial recipe (tutorials 04 and 05) on the same records' raw,
  un-normalized contact columns (first_name, last_name, email, phone, city, company_name;
  blank text made NULL, nothing else): comparison-library comparisons and blocking rules on
  name, e-mail and phone, prior from deterministic rules, u from random
  sampling, m from EM on two rules, then `save_model_to_json`.
- `plain predict`: a new process loads that model JSON into a Linker, predicts (>= 0.5) and
  clusters at the auto-merge threshold.

Both predict children then (untimed) cluster the >= 0.5 pairs too and score both clusterings
against the demo truth with pairwise precision, recall and F1. The sides alternate within a
repeat so the machine's noise hits both alike. Prints one JSON object with every run, the
medians, the ratios (plain / ours) and the machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import dedupe_data
import pandas as pd
from machine import high_water_mb, machine

from crm_hygiene.matching.evaluate import pairwise_scores
from crm_hygiene.model import Entity

AUTO = 0.99  # the shipped policy's merge.auto_merge_threshold (checked at run time)
REVIEW = 0.5
TARGETS = {"ours_predict_seconds": 60.0, "ours_train_seconds": 120.0, "ours_peak_rss_mb": 4096.0}
SEED = 42


def _scores(predicted: pd.Series, truth: pd.Series) -> dict[str, float | int]:
    s = pairwise_scores(predicted, truth)
    return {
        "precision": round(s.precision, 4),
        "recall": round(s.recall, 4),
        "f1": round(s.f1, 4),
        "predicted_pairs": s.predicted_pairs,
        "correct_pairs": s.correct_pairs,
        "true_pairs": s.true_pairs,
    }


class _Phases(logging.Handler):
    """Seconds per training step, from the INFO messages `model.train` logs as each step starts."""

    STARTS = (
        ("counted u", "build_linker"),  # logged once the counted u values are known
        ("estimating the prior", "prior"),
        ("estimating u", "u_sampling"),
        ("EM on", "em"),
        ("done in", "done"),
    )

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.marks: list[tuple[str, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for key, label in self.STARTS:
            if key in message:
                if label == "em":
                    label = f"em_{sum(1 for name, _ in self.marks if name.startswith('em_')) + 1}"
                self.marks.append((label, time.perf_counter()))
                return

    def seconds(self, started: float) -> dict[str, float]:
        """Each step's seconds; the first covers registering the records and counting exact u."""
        out: dict[str, float] = {}
        label, previous = "register_and_counted_u", started
        for next_label, moment in self.marks:
            out[label] = round(moment - previous, 2)
            label, previous = next_label, moment
        return out


# --- ours ------------------------------------------------------------------------------------------


def ours_train(data: Path, model_path: Path) -> dict[str, Any]:
    from crm_hygiene.matching import model as model_module
    from crm_hygiene.matching.inputs import match_input

    frame = dedupe_data.normalized(data, Entity.CONTACT)
    loaded = high_water_mb()
    phases = _Phases()
    model_module.logger.addHandler(phases)
    model_module.logger.setLevel(logging.INFO)
    started = time.perf_counter()
    inputs = match_input(Entity.CONTACT, frame)
    derived = time.perf_counter()
    model = model_module.train(Entity.CONTACT, inputs)
    seconds = time.perf_counter() - started
    peak = high_water_mb()
    model_path.write_text(json.dumps(model.to_dict()))
    steps = phases.seconds(derived)
    return {
        "side": "ours",
        "step": "train",
        "records": len(inputs),
        "seconds": round(seconds, 2),
        "phases": {"match_input": round(derived - started, 2), **steps},
        "loaded_rss_mb": round(loaded),
        "peak_rss_mb": round(peak),
        "prior": model.prior,
        "untrained_levels": model.metadata.get("untrained_levels"),
    }


def _timed(module: Any, name: str, phases: dict[str, float]) -> None:
    """Wrap `module.name` so each call adds its seconds to `phases[name]` (benchmark only)."""
    original = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            phases[name] = round(phases.get(name, 0.0) + time.perf_counter() - start, 2)

    setattr(module, name, wrapper)


def ours_predict(data: Path, model_path: Path) -> dict[str, Any]:
    from crm_hygiene.matching import predict as predict_module
    from crm_hygiene.matching.model import TrainedModel
    from crm_hygiene.policy.schema import MergePolicy

    shipped = MergePolicy()
    if shipped.auto_merge_threshold != AUTO or shipped.review_threshold != REVIEW:
        raise SystemExit("the shipped policy's merge thresholds changed; update this benchmark")
    frame = dedupe_data.normalized(data, Entity.CONTACT)
    model = TrainedModel.from_dict(json.loads(model_path.read_text()))
    loaded = high_water_mb()
    phases: dict[str, float] = {}
    for name in ("ensure_match_input", "as_arrow", "_predict", "_clusters"):
        _timed(predict_module, name, phases)
    started = time.perf_counter()
    pairs, clusters = predict_module.predict_and_cluster(
        Entity.CONTACT, frame, model, threshold=REVIEW, cluster_threshold=AUTO
    )
    seconds = time.perf_counter() - started
    peak = high_water_mb()
    phases["lean_pairs_and_fetch"] = round(seconds - sum(phases.values()), 2)

    started = time.perf_counter()
    review = predict_module.cluster(frame["id"], pairs, REVIEW)
    review_seconds = time.perf_counter() - started
    truth = dedupe_data.truth(data, Entity.CONTACT)
    return {
        "side": "ours",
        "step": "predict",
        "records": len(frame),
        "seconds": round(seconds, 2),
        "phases": phases,
        "pairs_at_review": len(pairs),
        "loaded_rss_mb": round(loaded),
        "peak_rss_mb": round(peak),
        "cluster_at_review_seconds": round(review_seconds, 2),
        f"at_{AUTO}": _scores(clusters.set_index("record_id")["cluster"], truth),
        f"at_{REVIEW}": _scores(review.set_index("record_id")["cluster"], truth),
    }


# --- plain Splink ----------------------------------------------------------------------------------


def _plain_records(data: Path) -> pd.DataFrame:
    raw = dedupe_data.raw_contacts(data)
    for column in dedupe_data.RAW_CONTACT_COLUMNS:
        text = raw[column].astype(object)
        blank = text.isna() | text.astype(str).str.strip().eq("")
        raw[column] = text.where(~blank, None)
    return raw


def plain_settings() -> Any:
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("last_name"),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("company_name", [0.9, 0.7]).configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("email"),
            block_on("phone"),
            block_on("first_name", "last_name"),
            block_on("last_name", "city"),
            block_on("first_name", "company_name"),
            block_on("last_name", "company_name"),
        ],
        retain_matching_columns=False,
    )


PLAIN_DETERMINISTIC = (
    "l.email = r.email",
    "l.first_name = r.first_name and l.last_name = r.last_name and l.phone = r.phone",
    "l.first_name = r.first_name and l.last_name = r.last_name and l.company_name = r.company_name",
)
PLAIN_RECALL = 0.7
PLAIN_U_MAX_PAIRS = 5e6


def plain_train(data: Path, model_path: Path) -> dict[str, Any]:
    from splink import DuckDBAPI, Linker, block_on

    records = _plain_records(data)
    loaded = high_water_mb()
    phases: dict[str, float] = {}
    started = mark = time.perf_counter()

    def step(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phases[name] = round(now - mark, 2)
        mark = now

    db_api = DuckDBAPI()
    linker = Linker(
        db_api.register(records, dataset_display_name="contacts_raw"),
        plain_settings(),
        log_level=logging.ERROR,
    )
    step("register")
    linker.training.estimate_probability_two_random_records_match(
        list(PLAIN_DETERMINISTIC), recall=PLAIN_RECALL
    )
    step("prior")
    linker.training.estimate_u_using_random_sampling(max_pairs=PLAIN_U_MAX_PAIRS, seed=SEED)
    step("u_sampling")
    for i, rule in enumerate((block_on("first_name", "last_name"), block_on("email"))):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
        step(f"em_{i}")
    model = linker.misc.save_model_to_json()
    seconds = time.perf_counter() - started
    peak = high_water_mb()
    model_path.write_text(json.dumps(model))
    return {
        "side": "plain",
        "step": "train",
        "records": len(records),
        "seconds": round(seconds, 2),
        "phases": phases,
        "loaded_rss_mb": round(loaded),
        "peak_rss_mb": round(peak),
        "prior": model["probability_two_random_records_match"],
    }


def plain_predict(data: Path, model_path: Path) -> dict[str, Any]:
    from splink import DuckDBAPI, Linker

    records = _plain_records(data)
    model = json.loads(model_path.read_text())
    loaded = high_water_mb()
    phases: dict[str, float] = {}
    started = time.perf_counter()
    db_api = DuckDBAPI()
    linker = Linker(
        db_api.register(records, dataset_display_name="contacts_raw"), model, log_level=logging.ERROR
    )
    predictions = linker.inference.predict(threshold_match_probability=REVIEW, warning_mode="never")
    phases["predict"] = round(time.perf_counter() - started, 2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=AUTO
    )
    # Fetched fully, as ours hands back a frame.
    at_auto = clusters.as_duckdbpyrelation().select("unique_id, cluster_id").df()
    seconds = time.perf_counter() - started
    phases["cluster_and_fetch"] = round(seconds - phases["predict"], 2)
    peak = high_water_mb()
    pairs = db_api.duckdb_con.sql(f"SELECT count(*) FROM {predictions.physical_name}").fetchall()[0][0]

    started = time.perf_counter()
    review = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=REVIEW
    )
    at_review = review.as_duckdbpyrelation().select("unique_id, cluster_id").df()
    review_seconds = time.perf_counter() - started
    truth = dedupe_data.truth(data, Entity.CONTACT)
    return {
        "side": "plain",
        "step": "predict",
        "records": len(records),
        "seconds": round(seconds, 2),
        "phases": phases,
        "pairs_at_review": int(pairs),
        "loaded_rss_mb": round(loaded),
        "peak_rss_mb": round(peak),
        "cluster_at_review_seconds": round(review_seconds, 2),
        f"at_{AUTO}": _scores(at_auto.set_index("unique_id")["cluster_id"], truth),
        f"at_{REVIEW}": _scores(at_review.set_index("unique_id")["cluster_id"], truth),
    }


CHILDREN = {
    "ours-train": ours_train,
    "ours-predict": ours_predict,
    "plain-train": plain_train,
    "plain-predict": plain_predict,
}


# --- parent ----------------------------------------------------------------------------------------


def _child(name: str, data: Path, model_path: Path) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", name, "--data", str(data), "--model", str(model_path)]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"child {name} failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(r[key]) for r in runs)


def _summary(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    median: dict[str, Any] = {}
    for name, results in runs.items():
        last = results[-1]
        entry: dict[str, Any] = {
            "seconds": _median(results, "seconds"),
            "seconds_all": [r["seconds"] for r in results],
            "peak_rss_mb": _median(results, "peak_rss_mb"),
            "phases": {
                k: statistics.median(r["phases"].get(k, 0.0) for r in results) for k in last["phases"]
            },
        }
        for key in (f"at_{AUTO}", f"at_{REVIEW}", "pairs_at_review"):
            if key in last:
                entry[key] = last[key]  # deterministic: the same in every repeat
        median[name] = entry
    return median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7, help="demo seed")
    parser.add_argument("--cache", type=Path, default=Path(".crm_hygiene/benchmarks"))
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(CHILDREN[args.child](args.data, args.model)))
        return 0

    data = dedupe_data.prepare(args.contacts, args.seed, args.cache)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CHILDREN}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            # Alternate which side goes first, so drift in the machine's load hits both alike.
            sides = ("ours", "plain") if i % 2 == 0 else ("plain", "ours")
            for side in sides:
                model_path = Path(tmp) / f"{side}_{i}.json"
                for step in ("train", "predict"):
                    name = f"{side}-{step}"
                    runs[name].append(_child(name, data, model_path))
                    print(json.dumps(runs[name][-1]), file=sys.stderr, flush=True)
    median = _summary(runs)
    ours_peak = max(median["ours-train"]["peak_rss_mb"], median["ours-predict"]["peak_rss_mb"])
    result = {
        "contacts": args.contacts,
        "repeat": args.repeat,
        "machine": {**machine(), "splink": version("splink"), "duckdb": version("duckdb")},
        "median": median,
        "ratios_plain_over_ours": {
            "train_seconds": round(median["plain-train"]["seconds"] / median["ours-train"]["seconds"], 2),
            "predict_seconds": round(
                median["plain-predict"]["seconds"] / median["ours-predict"]["seconds"], 2
            ),
            "train_peak_rss": round(
                median["plain-train"]["peak_rss_mb"] / median["ours-train"]["peak_rss_mb"], 2
            ),
            "predict_peak_rss": round(
                median["plain-predict"]["peak_rss_mb"] / median["ours-predict"]["peak_rss_mb"], 2
            ),
        },
        "targets": {
            "ours_predict_seconds": [median["ours-predict"]["seconds"], TARGETS["ours_predict_seconds"]],
            "ours_train_seconds": [median["ours-train"]["seconds"], TARGETS["ours_train_seconds"]],
            "ours_peak_rss_mb": [ours_peak, TARGETS["ours_peak_rss_mb"]],
            "met": median["ours-predict"]["seconds"] <= TARGETS["ours_predict_seconds"]
            and median["ours-train"]["seconds"] <= TARGETS["ours_train_seconds"]
            and ours_peak <= TARGETS["ours_peak_rss_mb"],
        },
        "runs": runs,
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
