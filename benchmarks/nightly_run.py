"""The whole nightly run a user starts, at scale, against plain Splink's dedupe of the same contacts.

    python benchmarks/nightly_run.py --contacts 200000
    python benchmarks/nightly_run.py --contacts 1000000 --markdown

In a fresh folder (CRM_HYGIENE_HOME and DAGSTER_HOME inside it, SQLite CRM store and ledger,
DuckDB warehouse), each command is timed as a whole process with `/usr/bin/time -v` (wall
seconds and peak RSS), one after the other:

1. `crm-hygiene demo --contacts N --companies N/5 --seed 7 --tenant bench`;
2. the first `crm-hygiene run --tenant bench --verbose`: trains both models, scores every
   pair, writes every automatic merge;
3. `crm-hygiene run --tenant bench --full --verbose`: a full run with the stored models
   (everything snapshotted, normalized, proposed and scored again);
4. a `--changed` share of contacts edited in the store as a rep would (title and phone, the
   version and updated_at moved), then `crm-hygiene run --tenant bench --verbose`: the
   incremental run;
5. plain Splink's dedupe of the same contacts (`dedupe_speed.py`'s tutorial recipe on the raw
   contact columns of the same generated CRM): training, then prediction and clustering, each
   a whole process.

Each run's own step timings (`--verbose` prints every step's wall seconds) are kept. Prints one
JSON object, and with `--markdown` the table for benchmarks/RESULTS.md and the README. The
machine is shared: quote the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dedupe_data
import numpy as np
from machine import machine

ROOT = Path(__file__).resolve().parents[1]
TENANT = "bench"
SEED = 7


def _timed(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run `command` under /usr/bin/time -v: wall seconds, peak RSS, and its output."""
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-v", *command], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-5000:] + done.stderr[-5000:])
        raise SystemExit(f"{' '.join(command)} failed with exit code {done.returncode}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    return {
        "seconds": round(wall, 1),
        "peak_rss_mb": round(int(rss.group(1)) / 1024) if rss else None,
        "stdout": done.stdout,
    }


def _steps(output: str, heading: str = "steps (wall seconds)") -> dict[str, float]:
    """A `name: number` block `crm-hygiene run --verbose` prints under `heading`."""
    steps: dict[str, float] = {}
    block = output.split(heading, 1)
    if len(block) < 2:
        return steps
    for line in block[1].splitlines()[1:]:
        found = re.match(r"\s+(\S+): ([\d.]+)$", line)
        if not found:
            break
        steps[found.group(1)] = float(found.group(2))
    return steps


def _summary_line(output: str, label: str) -> str:
    for line in output.splitlines():
        if line.strip().startswith(label):
            return line.strip()[len(label) :].strip()
    return ""


def _run(name: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    timed = _timed([str(Path(sys.executable).parent / "crm-hygiene"), *args], env)
    out = timed.pop("stdout")
    result = {
        "command": "crm-hygiene " + " ".join(args),
        **timed,
        "run": _summary_line(out, "run "),
        "merges": _summary_line(out, "merges "),
        "steps": _steps(out),
        "step_peak_rss_mb": _steps(out, "peak memory per step (MB)"),
    }
    # The run resets the kernel's high-water mark before each step (to measure the step), and
    # /usr/bin/time reads that same mark at exit: the process's peak is the largest step peak.
    if result["step_peak_rss_mb"]:
        result["peak_rss_mb"] = round(max(result["peak_rss_mb"] or 0, *result["step_peak_rss_mb"].values()))
    print(json.dumps({name: result}), flush=True)
    return result


def _edit_contacts(database: Path, share: float) -> int:
    """A rep's edits to `share` of the contacts: title and phone, version and updated_at moved."""
    with sqlite3.connect(database) as conn:
        ids = [
            r[0]
            for r in conn.execute("SELECT id FROM contacts WHERE tenant = ? AND status = 'active'", (TENANT,))
        ]
        rng = np.random.default_rng(SEED)
        chosen = [ids[i] for i in rng.permutation(len(ids))[: max(int(len(ids) * share), 1)]]
        now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
        conn.executemany(
            "UPDATE contacts SET title = coalesce(title, '') || ' (edited)', phone = '+1 202 555 0' || substr(id, -3), "
            "version = version + 1, updated_at = ? WHERE tenant = ? AND id = ?",
            [(now, TENANT, i) for i in chosen],
        )
    return len(chosen)


def _plain(contacts: int, cache: Path) -> dict[str, Any]:
    """Plain Splink's train and predict on the same generated contacts, each a whole process."""
    data = dedupe_data.prepare(contacts, SEED, cache, log=False)
    model = cache / f"plain_model_{contacts}.json"
    out: dict[str, Any] = {}
    for step in ("plain-train", "plain-predict"):
        command = [sys.executable, str(ROOT / "benchmarks" / "dedupe_speed.py"), "--child", step]
        timed = _timed([*command, "--data", str(data), "--model", str(model)], dict(os.environ))
        report = json.loads(timed["stdout"].strip().splitlines()[-1])
        out[step] = {
            "seconds": timed["seconds"],
            "peak_rss_mb": timed["peak_rss_mb"],
            "inside": report.get("seconds"),
        }
    out["seconds"] = round(out["plain-train"]["seconds"] + out["plain-predict"]["seconds"], 1)
    print(json.dumps({"plain_splink": out}), flush=True)
    return out


def _markdown(result: dict[str, Any]) -> str:
    plain = result["plain_splink"]["seconds"]
    lines = [
        f"| command ({result['contacts']:,} contacts, {result['contacts'] // 5:,} companies) | wall s | "
        "peak RSS | / plain Splink |",
        "|---|---:|---:|---:|",
    ]
    for key in ("demo", "first_run", "full_run", "incremental_run"):
        row = result[key]
        lines.append(
            f"| `{row['command']}` | {row['seconds']} | {row['peak_rss_mb']:,} MB | {row['seconds'] / plain:.1f}x |"
        )
    p = result["plain_splink"]
    lines.append(
        f"| plain Splink: train + predict and cluster (two processes) | {plain} | "
        f"{max(p['plain-train']['peak_rss_mb'], p['plain-predict']['peak_rss_mb']):,} MB | 1.0x |"
    )
    lines.append("")
    lines.append("| step | first run | full run | incremental run |")
    lines.append("|---|---:|---:|---:|")
    names = list(dict.fromkeys([*result["first_run"]["steps"], *result["full_run"]["steps"]]))
    for name in names:
        cells = [result[k]["steps"].get(name) for k in ("first_run", "full_run", "incremental_run")]
        lines.append(f"| {name} | " + " | ".join("" if c is None else f"{c:.1f}" for c in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument(
        "--changed", type=float, default=0.01, help="share of contacts edited before the incremental run"
    )
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "crm_hygiene_bench")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nightly_run_") as folder:
        home = Path(folder)
        env = {**os.environ, "CRM_HYGIENE_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
        (home / "dagster").mkdir()
        (home / "dagster" / "dagster.yaml").write_text((ROOT / "deploy" / "dagster.yaml").read_text())
        result: dict[str, Any] = {"contacts": args.contacts}
        demo = ["demo", "--contacts", str(args.contacts), "--companies", str(args.contacts // 5)]
        result["demo"] = _run("demo", [*demo, "--seed", str(SEED), "--tenant", TENANT], env)
        result["first_run"] = _run("first_run", ["run", "--tenant", TENANT, "--verbose"], env)
        result["full_run"] = _run("full_run", ["run", "--tenant", TENANT, "--full", "--verbose"], env)
        result["edited_contacts"] = _edit_contacts(home / "crm.sqlite", args.changed)
        result["incremental_run"] = _run("incremental_run", ["run", "--tenant", TENANT, "--verbose"], env)
    result["plain_splink"] = _plain(args.contacts, args.cache)
    plain = result["plain_splink"]["seconds"]
    result["ratios"] = {
        "first_run_vs_plain": round(result["first_run"]["seconds"] / plain, 2),
        "full_run_vs_plain": round(result["full_run"]["seconds"] / plain, 2),
        "incremental_vs_full": round(result["incremental_run"]["seconds"] / result["full_run"]["seconds"], 3),
    }
    result["machine"] = machine()
    print(json.dumps({k: v for k, v in result.items() if k in ("ratios", "edited_contacts", "machine")}))
    if args.markdown:
        print(_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
