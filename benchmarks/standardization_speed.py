"""Normalizing every contact field: our set-based normalizers against a naive per-row loop.

    python benchmarks/standardization_speed.py --contacts 1000000 --naive-rows 50000 --repeat 3

The demo contacts are generated and snapshotted once into a Parquet cache (outside the timing).
Each measurement then runs in a fresh child process that reads the cache, so a run's peak RSS
is its own and not the generator's:

- `ours`: `normalize_contacts` over every contact, on a worker pool of `--workers` processes
  (default: every core). Only the snapshot columns normalization reads are loaded. Peak RSS
  (VmHWM) is reported after loading, for the whole run of the main process, and for the
  largest worker.
- `naive`: what a straightforward implementation does: for each row, call each field's
  per-value normalizer, on one core with no caching, over the first `--naive-rows` rows (a
  million rows would take long). Its records per second are compared with ours.

The two alternate within a repeat, so the machine's noise hits both alike; the script prints one
JSON object with every run, the medians and the ratio. The naive values must equal ours on every
row it covered, or the script fails: both do the same work.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from machine import high_water_mb, machine

from crm_hygiene.model import Entity

# The per-value results a naive loop computes, and the frame columns they must equal.
COMPARED = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "title",
    "company_name",
    "region",
    "postcode",
    "city",
)


def prepare(contacts: int, seed: int, cache: Path) -> Path:
    """The contact snapshot (and each contact's company country) as Parquet, made once per size and seed."""
    path = cache / f"contacts_{contacts}_{seed}.parquet"
    if path.exists():
        return path
    from crm_hygiene.demo import DemoConfig, generate_demo_crm
    from crm_hygiene.model.snapshot import prepare_snapshot
    from crm_hygiene.normalize.countries import normalize_countries

    demo = generate_demo_crm(DemoConfig(contacts=contacts, companies=max(contacts // 5, 1), seed=seed))
    snapshot = prepare_snapshot(Entity.CONTACT, demo.records[Entity.CONTACT])
    companies = demo.records[Entity.COMPANY]
    country = normalize_countries(companies["country"])["value"]
    country_of = pd.Series(country.to_numpy(), index=companies["id"].to_numpy())
    country_of = country_of[~country_of.index.duplicated()]
    snapshot["company_country"] = snapshot["company_id"].map(country_of)
    cache.mkdir(parents=True, exist_ok=True)
    snapshot.to_parquet(path)
    return path


def _worker_peak_mb(pause: float) -> tuple[int, float]:
    time.sleep(pause)  # long enough for every worker to take one of these
    return os.getpid(), high_water_mb()


def _read(path: Path, rows: int | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """The columns normalization reads (the rest of a million-row snapshot would only cost memory)."""
    from crm_hygiene.model.snapshot import restore_snapshot_dtypes
    from crm_hygiene.normalize.records import INPUT_COLUMNS

    frame = pd.read_parquet(path, columns=[*INPUT_COLUMNS[Entity.CONTACT], "company_country"])
    if rows is not None:
        frame = frame.head(rows)
    company_country = frame.pop("company_country")
    return restore_snapshot_dtypes(Entity.CONTACT, frame), company_country


def run_ours(path: Path, workers: int | None) -> dict[str, object]:
    from crm_hygiene.normalize import workers as pool_module
    from crm_hygiene.normalize.records import normalize_contacts
    from crm_hygiene.normalize.workers import worker_pool

    snapshot, company_country = _read(path)
    loaded_mb = high_water_mb()
    start = time.perf_counter()
    worker_peaks: dict[int, float] = {}
    with worker_pool(workers) as used:
        frame = normalize_contacts(snapshot, company_country=company_country).frame
        seconds = time.perf_counter() - start
        opened = pool_module._POOL.get()
        if opened is not None:
            worker_peaks = dict(opened[0].map(_worker_peak_mb, [0.5] * (2 * used)))
    return {
        "mode": "ours",
        "rows": len(frame),
        "workers": used,
        "seconds": round(seconds, 2),
        "records_per_second": round(len(frame) / seconds),
        "snapshot_loaded_rss_mb": round(loaded_mb),
        "peak_rss_mb": round(high_water_mb()),
        "worker_peak_rss_mb": round(max(worker_peaks.values(), default=0)),
        "columns": len(frame.columns),
    }


def _naive_rows(snapshot: pd.DataFrame) -> list[dict[str, object]]:
    """One row at a time, every field, no caching: each parser call is paid for every row."""
    from crm_hygiene.normalize.addresses import normalize_city, normalize_postcode
    from crm_hygiene.normalize.companies import _normalize_one as normalize_company
    from crm_hygiene.normalize.countries import normalize_country
    from crm_hygiene.normalize.emails import normalize_email
    from crm_hygiene.normalize.names import normalize_name_pair
    from crm_hygiene.normalize.phones import normalize_phone
    from crm_hygiene.normalize.regions import normalize_region
    from crm_hygiene.normalize.titles import normalize_title

    def text(value: object) -> str | None:
        return value if isinstance(value, str) and value.strip() else None

    out = []
    for row in snapshot.to_dict("records"):
        country = normalize_country(row["country"])["value"] if text(row["country"]) else None
        dialing = country or text(row["company_country"])
        names = normalize_name_pair(text(row["first_name"]), text(row["last_name"]))
        values: dict[str, object] = {
            "first_name": names["first_name"],
            "last_name": names["last_name"],
        }
        calls = {
            "email": lambda v: normalize_email(v),
            "phone": lambda v, region=dialing: normalize_phone(v, region),
            "title": lambda v: normalize_title(v),
            "company_name": lambda v, c=country: normalize_company(v, c),
            "region": lambda v, c=country: normalize_region(v, c),
            "postcode": lambda v, c=country: normalize_postcode(v, c),
            "city": lambda v: normalize_city(v),
        }
        for field, call in calls.items():
            value = text(row[field])
            values[field] = call(value)["value"] if value is not None else None
        out.append(values)
    return out


def run_naive(path: Path, rows: int) -> dict[str, object]:
    snapshot, company_country = _read(path, rows)
    snapshot["company_country"] = company_country
    start = time.perf_counter()
    values = _naive_rows(snapshot)
    seconds = time.perf_counter() - start
    naive = pd.DataFrame(values, index=snapshot.index)
    mismatches = _compare(snapshot, naive)
    return {
        "mode": "naive",
        "rows": len(values),
        "workers": 1,
        "seconds": round(seconds, 2),
        "records_per_second": round(len(values) / seconds),
        "peak_rss_mb": round(high_water_mb()),
        "mismatches": mismatches,
    }


def _compare(snapshot: pd.DataFrame, naive: pd.DataFrame) -> dict[str, int]:
    """Rows where the naive loop and the set-based normalizers disagree, per field."""
    from crm_hygiene.normalize.records import normalize_contacts

    # Rows whose country was guessed from the phone are read differently on purpose (the loop
    # does not guess); they are left out of the comparison.
    ours = normalize_contacts(
        snapshot.drop(columns="company_country"), company_country=snapshot["company_country"]
    ).frame
    guessed = ours["country_rule"].eq("country_from_phone").to_numpy()
    out = {}
    for field in COMPARED:
        left = ours[field].to_numpy(dtype=object)[~guessed]
        right = naive[field].to_numpy(dtype=object)[~guessed]
        out[field] = int(sum(a != b for a, b in zip(left, right, strict=True)))
    return out


def _child(mode: str, path: Path, args: argparse.Namespace) -> dict[str, object]:
    command = [sys.executable, __file__, "--child", mode, "--cache-file", str(path)]
    command += ["--workers", str(args.workers), "--naive-rows", str(args.naive_rows)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--naive-rows", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=0, help="0: every core")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=Path(".crm_hygiene/benchmarks"))
    parser.add_argument("--child", choices=("ours", "naive"), help=argparse.SUPPRESS)
    parser.add_argument("--cache-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    workers = args.workers or None

    if args.child == "ours":
        print(json.dumps(run_ours(args.cache_file, workers)))
        return 0
    if args.child == "naive":
        print(json.dumps(run_naive(args.cache_file, args.naive_rows)))
        return 0

    path = prepare(args.contacts, args.seed, args.cache)
    runs: dict[str, list[dict[str, object]]] = {"ours": [], "naive": []}
    for _ in range(args.repeat):
        for mode in ("ours", "naive"):
            runs[mode].append(_child(mode, path, args))
            print(json.dumps(runs[mode][-1]), file=sys.stderr)
    summary = {mode: _medians(results) for mode, results in runs.items()}
    ratio = summary["ours"]["records_per_second"] / summary["naive"]["records_per_second"]
    mismatches = runs["naive"][-1]["mismatches"]
    print(
        json.dumps(
            {
                "contacts": args.contacts,
                "machine": machine(),
                "median": summary,
                "speedup_records_per_second": round(ratio, 1),
                "naive_mismatches": mismatches,
                "runs": runs,
            },
            indent=2,
        )
    )
    if any(mismatches.values()):
        print("the naive loop and the normalizers disagree", file=sys.stderr)
        return 1
    return 0


def _medians(results: list[dict[str, object]]) -> dict[str, float]:
    keys = [k for k, v in results[0].items() if isinstance(v, int | float) and not isinstance(v, bool)]
    return {k: statistics.median(float(r[k]) for r in results) for k in keys}


if __name__ == "__main__":
    raise SystemExit(main())
