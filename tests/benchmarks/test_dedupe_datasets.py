"""The accuracy benchmark compares against the shared baselines, read the way they report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import dedupe_datasets as bench  # noqa: E402

BASELINE_LINE = {
    "dataset": "fake_1000",
    "records": 1000,
    "by_threshold": {
        "0.5": {"clusters": {"p": 1.0, "r": 0.8533, "f1": 0.9208}},
        "0.9": {"clusters": {"p": 1.0, "r": 0.8011, "f1": 0.8896}},
        "0.99": {"clusters": {"p": 1.0, "r": 0.6425, "f1": 0.7823}},
    },
}


def test_the_bar_is_the_baselines_best_f1_over_its_thresholds() -> None:
    summary = bench.summarize_baseline(BASELINE_LINE)
    assert summary["best_f1"] == 0.9208 and summary["best_threshold"] == 0.5
    assert list(summary["f1_by_threshold"]) == ["0.5", "0.9", "0.99"]


@pytest.mark.parametrize(
    ("ours", "beats", "precise"),
    [
        ({"precision": 0.995, "recall": 0.9, "f1": 0.945}, "yes", "yes"),
        ({"precision": 0.98, "recall": 0.9, "f1": 0.938}, "yes", "no"),
        ({"precision": 1.0, "recall": 0.8, "f1": 0.889}, "no", "yes"),
        ({"precision": 1.0, "recall": 0.853, "f1": 0.9208}, "no", "yes"),  # a tie does not beat the bar
    ],
)
def test_the_table_says_whether_ours_beats_the_bar(ours: dict, beats: str, precise: str) -> None:
    rows = [
        {"dataset": "fake_1000", "side": "ours", "records": 1000, "seconds": 3.0, **ours},
        {
            "dataset": "fake_1000",
            "side": "baseline-splink",
            "seconds": 5.0,
            **bench.summarize_baseline(BASELINE_LINE),
        },
    ]
    line = bench.markdown_table(rows).splitlines()[-1]
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[5:7] == [beats, precise]
    assert cells[4] == "0.921 (0.5)"


SHARED = Path(__file__).resolve().parents[3] / "shared"


@pytest.mark.skipif(
    not (SHARED / "datasets" / "fodors_zagats" / "zagats.csv").is_file(),
    reason="the shared datasets (../shared) are absent",
)
def test_the_link_set_runs_in_link_mode() -> None:
    row = bench.run_ours(bench.DATASETS["fodors_zagats"], SHARED / "datasets")
    assert "error" not in row, row
    # 533 fodors + 331 zagats records; 112 restaurants are in both guides.
    assert row["records"] == 864
    assert float(row["precision"]) > 0.9 and float(row["recall"]) > 0.85


@pytest.mark.skipif(
    not (SHARED / "baselines" / "fake_1000.py").is_file() or not (SHARED / "datasets").is_dir(),
    reason="the shared baselines and datasets (../shared) are absent",
)
def test_both_sides_run_on_fake_1000(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--datasets", "fake_1000", "--markdown"]) == 0
    out = capsys.readouterr().out
    rows = [json.loads(line) for line in out.splitlines() if line.startswith('{"dataset"')]
    sides = {r["side"]: r for r in rows}
    assert set(sides) == {"ours", "baseline-splink"}
    assert sides["ours"]["records"] == sides["baseline-splink"]["records"] == 1000
    assert 0.0 < sides["ours"]["f1"] <= 1.0 and sides["baseline-splink"]["best_f1"] > 0.9
    assert "| fake_1000 | 1,000 |" in out
