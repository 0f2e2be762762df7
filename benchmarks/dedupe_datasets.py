"""`crm-hygiene dedupe` against plain Splink on the labelled datasets, in one run, at one threshold.

    python benchmarks/dedupe_datasets.py                      # all four, threshold 0.95
    python benchmarks/dedupe_datasets.py --datasets fake_1000 chicago_early_childhood_orgs

For each dataset both sides run in this process on the same machine:

- ours: `crm_hygiene.matching.files.dedupe_file`, the code path of the command, with the
  mapping in benchmarks/mappings/<dataset>.yaml (nothing is tuned per dataset beyond that file);
- plain: `benchmarks/plain_splink.py`'s model for the dataset (Splink's tutorial model, or
  its 50k example model), unchanged.

Both cluster at `--threshold` (0.95, the value Splink's tutorials cluster at, so the plain
side runs as its authors intend) and are scored pairwise against the dataset's labels with
`crm_hygiene.matching.evaluate`; neither side sees the labels. Prints one JSON line per
dataset and side, then a markdown table and one JSON line with the machine. `seconds` is
wall time from reading the files to the scores (ours includes joining patstat's two files,
as the plain loader does). A dataset whose files are absent is skipped with a message.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from machine import machine, peak_rss_mb
from plain_splink import BASELINES, DEFAULT_DATASETS_DIR, run_baseline

from crm_hygiene.matching.files import dedupe_file

MAPPINGS = Path(__file__).resolve().parent / "mappings"


@dataclass(frozen=True)
class Dataset:
    """One labelled dataset as our command reads it: a file, an entity and the truth column."""

    name: str
    entity: str
    truth_column: str
    # (datasets dir, scratch dir) -> the file to dedupe; may write a joined file into scratch.
    input_file: Callable[[Path, Path], Path]


def _patstat_file(datasets: Path, scratch: Path) -> Path:
    """patstat's input rows with the hand-checked `leuven_id` joined on (the truth column)."""
    folder = datasets / "patstat_nl_orgs"
    rows = pd.read_csv(folder / "patstat_input.csv", dtype=str, keep_default_na=False)
    reference = pd.read_csv(folder / "patstat_reference.csv", dtype=str, keep_default_na=False)
    rows = rows.merge(reference[["person_id", "leuven_id"]], on="person_id", how="left", validate="1:1")
    path = scratch / "patstat_with_truth.csv"
    rows.to_csv(path, index=False)
    return path


DATASETS: dict[str, Dataset] = {
    "fake_1000": Dataset(
        "fake_1000", "contact", "cluster", lambda d, _: d / "splink_datasets" / "fake_1000.csv"
    ),
    "historical_50k": Dataset(
        "historical_50k",
        "contact",
        "cluster",
        lambda d, _: d / "splink_datasets" / "historical_figures_with_errors_50k.parquet",
    ),
    "chicago_early_childhood_orgs": Dataset(
        "chicago_early_childhood_orgs",
        "company",
        "True Id",
        lambda d, _: d / "chicago_early_childhood_orgs" / "csv_example_input_with_true_ids.csv",
    ),
    "patstat_nl_orgs": Dataset("patstat_nl_orgs", "company", "leuven_id", _patstat_file),
}


def run_ours(dataset: Dataset, datasets_dir: Path, threshold: float) -> dict[str, object]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        path = dataset.input_file(datasets_dir, Path(scratch))
        prepared = time.perf_counter() - started
        result = dedupe_file(
            path,
            dataset.entity,
            mapping_path=MAPPINGS / f"{dataset.name}.yaml",
            truth_column=dataset.truth_column,
            threshold=threshold,
            write=False,
        )
    assert result.scores is not None
    return {
        "dataset": dataset.name,
        "side": "ours",
        "records": result.records,
        "precision": round(result.scores.precision, 4),
        "recall": round(result.scores.recall, 4),
        "f1": round(result.scores.f1, 4),
        "seconds": round(prepared + result.seconds, 2),
        "threshold": threshold,
        "clusters": result.clusters,
        "true_pairs": result.scores.true_pairs,
        "predicted_pairs": result.scores.predicted_pairs,
        "correct_pairs": result.scores.correct_pairs,
    }


def run_plain(name: str, datasets_dir: Path, threshold: float) -> dict[str, object]:
    result = run_baseline(BASELINES[name], datasets_dir, threshold, logging.ERROR)
    return {"dataset": name, "side": "plain", **{k: v for k, v in result.items() if k != "dataset"}}


def markdown_table(rows: list[dict[str, object]]) -> str:
    by_dataset: dict[str, dict[str, dict[str, object]]] = {}
    for row in rows:
        by_dataset.setdefault(str(row["dataset"]), {})[str(row["side"])] = row
    lines = [
        "| dataset | records | ours P | ours R | ours F1 | ours s | plain P | plain R | plain F1 | plain s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, sides in by_dataset.items():
        ours, plain = sides.get("ours", {}), sides.get("plain", {})
        records = ours.get("records", plain.get("records", ""))
        cells = [f"{records:,}" if isinstance(records, int) else str(records)]
        for side in (ours, plain):
            cells += [_cell(side.get(k)) for k in ("precision", "recall", "f1")]
            cells.append(_cell(side.get("seconds"), digits=1))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: object, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--threshold", type=float, default=0.95, help="match probability to cluster at")
    parser.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=list(DATASETS))
    parser.add_argument("--datasets-dir", type=Path, default=DEFAULT_DATASETS_DIR)
    args = parser.parse_args(argv)
    if not 0.0 < args.threshold < 1.0:
        parser.error("--threshold must be a probability strictly between 0 and 1")

    logging.getLogger("splink").setLevel(logging.ERROR)
    rows: list[dict[str, object]] = []
    for name in args.datasets:
        missing = [f for f in BASELINES[name].files if not (args.datasets_dir / f).is_file()]
        if missing:
            print(f"skip {name}: missing {', '.join(missing)} under {args.datasets_dir}", file=sys.stderr)
            continue
        for row in (
            run_ours(DATASETS[name], args.datasets_dir, args.threshold),
            run_plain(name, args.datasets_dir, args.threshold),
        ):
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print(markdown_table(rows))
    print()
    print(json.dumps({"machine": machine(), "peak_rss_mb": round(peak_rss_mb(), 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
