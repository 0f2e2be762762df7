"""`crm-hygiene dedupe` against the competent plain-Splink baselines, dataset by dataset, in one run.

    python benchmarks/dedupe_datasets.py                        # every shared labelled set
    python benchmarks/dedupe_datasets.py --datasets fake_1000 chicago_early_childhood_orgs
    python benchmarks/dedupe_datasets.py --markdown             # the README's table at the end

Both sides run as whole processes, one after the other, on the same machine:

- ours: the installed `crm-hygiene dedupe FILE --entity E --mapping benchmarks/mappings/NAME.yaml
  --truth COLUMN` (for the link set `dedupe A B --link ...`, scored on pairs across the files)
  at its default threshold (the shipped policy's auto-merge threshold), as a user runs it;
  nothing is tuned per dataset beyond the mapping file;
- baseline: `../shared/baselines/SCRIPT.py`, plain Splink 5 written the way its tutorials
  write it (cleaning, comparison library, several blocking rules, EM), clustering at 0.5, 0.9
  and 0.99; with `--recordlinkage` also its recordlinkage ECM engine, where that package is
  installed.

Both are scored pairwise from clusters against the labels, which neither side sees. The bar
for each dataset is the baseline's best F1 over its three thresholds; the precision target is
0.99 at our default threshold. `seconds` is the wall time of each process, imports included.
Prints one JSON line per dataset and side, then (with `--markdown`) the comparison table, and
one JSON line naming the machine. A dataset whose files, or whose baseline, are absent is
skipped with a message: a clone without ../shared has none.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from machine import machine

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = ROOT / "benchmarks" / "mappings"
SHARED = ROOT.parent / "shared"
PRECISION_TARGET = 0.99


@dataclass(frozen=True)
class Dataset:
    """One labelled set: how our command reads it and which baseline script is its bar."""

    name: str
    baseline: str  # script name in the baselines folder
    entity: str
    truth_column: str
    files: tuple[str, ...]  # relative to the datasets folder
    # (datasets dir, scratch dir) -> the file to dedupe, or the two files to link (A, B).
    input_file: Callable[[Path, Path], Path | tuple[Path, Path]]
    note: str = ""


def _patstat_file(datasets: Path, scratch: Path) -> Path:
    """patstat's input rows with the hand-checked `leuven_id` joined on (the truth column)."""
    folder = datasets / "patstat_nl_orgs"
    rows = pd.read_csv(folder / "patstat_input.csv", dtype=str, keep_default_na=False)
    reference = pd.read_csv(folder / "patstat_reference.csv", dtype=str, keep_default_na=False)
    rows = rows.merge(reference[["person_id", "leuven_id"]], on="person_id", how="left", validate="1:1")
    path = scratch / "patstat_with_truth.csv"
    rows.to_csv(path, index=False)
    return path


def _fodors_zagats_files(datasets: Path, scratch: Path) -> tuple[Path, Path]:
    """fodors.csv (A) and zagats.csv (B) with the truth column `entity`: a restaurant's
    fodors id, which a zagats row shares when matches_fodors_zagats.csv pairs them."""
    folder = datasets / "fodors_zagats"
    fodors = pd.read_csv(folder / "fodors.csv", dtype=str, keep_default_na=False)
    zagats = pd.read_csv(folder / "zagats.csv", dtype=str, keep_default_na=False)
    matches = pd.read_csv(folder / "matches_fodors_zagats.csv", dtype=str, keep_default_na=False)
    fodors["entity"] = "f" + fodors["id"]
    pairs = dict(zip(matches["zagats_id"], "f" + matches["fodors_id"], strict=True))
    zagats["entity"] = zagats["id"].map(pairs).fillna("z" + zagats["id"])
    paths = scratch / "fodors.csv", scratch / "zagats.csv"
    fodors.to_csv(paths[0], index=False)
    zagats.to_csv(paths[1], index=False)
    return paths


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "fake_1000",
            "fake_1000",
            "contact",
            "cluster",
            ("splink_datasets/fake_1000.csv",),
            lambda d, _: d / "splink_datasets" / "fake_1000.csv",
        ),
        Dataset(
            "historical_50k",
            "historical_50k",
            "contact",
            "cluster",
            ("splink_datasets/historical_figures_with_errors_50k.parquet",),
            lambda d, _: d / "splink_datasets" / "historical_figures_with_errors_50k.parquet",
        ),
        Dataset(
            "chicago_early_childhood_orgs",
            "chicago_orgs",
            "company",
            "True Id",
            ("chicago_early_childhood_orgs/csv_example_input_with_true_ids.csv",),
            lambda d, _: d / "chicago_early_childhood_orgs" / "csv_example_input_with_true_ids.csv",
        ),
        Dataset(
            "patstat_nl_orgs",
            "patstat_orgs",
            "company",
            "leuven_id",
            ("patstat_nl_orgs/patstat_input.csv", "patstat_nl_orgs/patstat_reference.csv"),
            _patstat_file,
        ),
        Dataset(
            "fodors_zagats",
            "fodors_zagats",
            "company",
            "entity",
            (
                "fodors_zagats/fodors.csv",
                "fodors_zagats/zagats.csv",
                "fodors_zagats/matches_fodors_zagats.csv",
            ),
            _fodors_zagats_files,
            note="a link of two files (--link), scored on pairs across them",
        ),
    )
}


def _timed(command: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=3600)
    return done, time.perf_counter() - started


def _last_json(text: str) -> dict[str, object]:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line in the output")


def run_ours(dataset: Dataset, datasets_dir: Path) -> dict[str, object]:
    row: dict[str, object] = {"dataset": dataset.name, "side": "ours"}
    command = str(Path(sys.executable).with_name("crm-hygiene"))
    with tempfile.TemporaryDirectory() as scratch:
        made = dataset.input_file(datasets_dir, Path(scratch))
        paths = [str(p) for p in (made if isinstance(made, tuple) else (made,))]
        args = [command, "dedupe", *paths, *(["--link"] if len(paths) == 2 else []), "--entity", dataset.entity,
                "--mapping", str(MAPPINGS / f"{dataset.name}.yaml"), "--truth", dataset.truth_column,
                "--output", str(Path(scratch) / "out.parquet")]  # fmt: skip
        done, seconds = _timed(args, ROOT)
    if done.returncode != 0:
        return row | {"error": done.stderr.strip().splitlines()[-1:]}
    result = _last_json(done.stdout)
    records = (
        result["records"] if "records" in result else int(result["records_a"]) + int(result["records_b"])
    )
    return row | {
        "records": records,
        "precision": result["precision"],
        "recall": result["recall"],
        "f1": result["f1"],
        "seconds": round(seconds, 2),
    }


def run_baseline(dataset: Dataset, baselines: Path, engine: str = "splink") -> dict[str, object]:
    row: dict[str, object] = {"dataset": dataset.name, "side": f"baseline-{engine}"}
    args = [sys.executable, str(baselines / f"{dataset.baseline}.py")]
    if engine != "splink":
        args += ["--engine", engine]
    # A scratch working folder: the baselines folder may be read-only (a shared copy).
    with tempfile.TemporaryDirectory() as scratch:
        done, seconds = _timed(args, Path(scratch))
    if done.returncode != 0:
        return row | {"error": done.stderr.strip().splitlines()[-1:]}
    return row | summarize_baseline(_last_json(done.stdout)) | {"seconds": round(seconds, 2)}


def summarize_baseline(result: dict[str, object]) -> dict[str, object]:
    """The baseline's cluster scores per threshold and its best F1 (the bar to beat)."""
    by_threshold = result["by_threshold"]
    assert isinstance(by_threshold, dict)
    scores = {t: by_threshold[t]["clusters"] for t in sorted(by_threshold, key=float)}
    best = max(scores, key=lambda t: scores[t]["f1"])
    return {
        "records": result["records"],
        "f1_by_threshold": {t: s["f1"] for t, s in scores.items()},
        "precision_by_threshold": {t: s["p"] for t, s in scores.items()},
        "best_f1": scores[best]["f1"],
        "best_threshold": float(best),
    }


def markdown_table(rows: list[dict[str, object]]) -> str:
    by_dataset: dict[str, dict[str, dict[str, object]]] = {}
    for row in rows:
        by_dataset.setdefault(str(row["dataset"]), {})[str(row["side"])] = row
    lines = [
        "| dataset | records | ours P / R / F1 (default threshold) | baseline F1 at 0.5 / 0.9 / 0.99 | bar: baseline best F1 | ours beats it | ours P ≥ 0.99 | seconds ours / baseline |",
        "|---|---:|---|---|---|---|---|---|",
    ]  # fmt: skip
    for name, sides in by_dataset.items():
        ours, base = sides.get("ours", {}), sides.get("baseline-splink", {})
        records = base.get("records", ours.get("records", ""))
        if "f1" in ours:
            ours_cell = f"{ours['precision']:.3f} / {ours['recall']:.3f} / **{ours['f1']:.3f}**"
        else:
            ours_cell = str(ours.get("skipped") or ours.get("error") or "-")
        if "best_f1" in base:
            f1s = base["f1_by_threshold"]
            assert isinstance(f1s, dict)
            base_cell = " / ".join(f"{v:.3f}" for v in f1s.values())
            bar = f"{base['best_f1']:.3f} ({base['best_threshold']})"
        else:
            base_cell, bar = str(base.get("error", "-")), "-"
        beats = _yes("f1" in ours and "best_f1" in base and ours["f1"] > base["best_f1"])
        precise = _yes("precision" in ours and float(ours["precision"]) >= PRECISION_TARGET)  # type: ignore[arg-type]
        seconds = f"{ours.get('seconds', '-')} / {base.get('seconds', '-')}"
        lines.append(
            f"| {name} | {records:,} | {ours_cell} | {base_cell} | {bar} | {beats} | {precise} | {seconds} |"
            if isinstance(records, int)
            else f"| {name} | {records} | {ours_cell} | {base_cell} | {bar} | {beats} | {precise} | {seconds} |"
        )
    return "\n".join(lines)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=list(DATASETS))
    parser.add_argument("--datasets-dir", type=Path, default=SHARED / "datasets")
    parser.add_argument("--baselines", type=Path, default=SHARED / "baselines")
    parser.add_argument(
        "--recordlinkage", action="store_true", help="also run the baselines' recordlinkage ECM"
    )
    parser.add_argument("--markdown", action="store_true", help="print the comparison table at the end")
    args = parser.parse_args(argv)
    if shutil.which(str(Path(sys.executable).with_name("crm-hygiene"))) is None:
        parser.error(
            "run this with the project's virtualenv python (crm-hygiene must be installed beside it)"
        )

    rows: list[dict[str, object]] = []
    for name in args.datasets:
        dataset = DATASETS[name]
        missing = [f for f in dataset.files if not (args.datasets_dir / f).is_file()]
        if missing or not (args.baselines / f"{dataset.baseline}.py").is_file():
            print(f"skip {name}: missing {', '.join(missing) or dataset.baseline + '.py'}", file=sys.stderr)
            continue
        engines = ["splink", "recordlinkage"] if args.recordlinkage else ["splink"]
        found = [run_ours(dataset, args.datasets_dir)]
        found += [run_baseline(dataset, args.baselines, engine) for engine in engines]
        for row in found:
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.markdown:
        print()
        print(markdown_table(rows))
    print()
    print(json.dumps({"machine": machine()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
