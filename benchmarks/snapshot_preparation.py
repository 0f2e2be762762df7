"""Typing and flagging a snapshot: the vectorized `prepare_snapshot` against a naive per-row loop.

    python benchmarks/snapshot_preparation.py --contacts 100000 --repeat 3

Both run in this one process on the same demo contacts (with 1% of rows made malformed), so
the ratio is fair on a shared, noisy machine. Prints one JSON object with the medians, the
ratio and peak memory; the two must give every row exactly the same reasons, or the script fails.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time

import numpy as np
import pandas as pd
from dateutil import parser as date_parser
from machine import machine, peak_rss_mb

from crm_hygiene.demo import DemoConfig, generate_demo_crm
from crm_hygiene.model import TIMESTAMP_FIELDS, Entity, spec
from crm_hygiene.model.snapshot import MAX_FIELD_CHARS, prepare_snapshot

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _naive_date_ok(text: str) -> bool:
    try:
        pd.Timestamp(date_parser.isoparse(text))
        return True
    except (ValueError, OverflowError):
        pass
    try:
        pd.Timestamp(date_parser.parse(text))
        return True
    except (ValueError, OverflowError):
        return False


def naive_issues(raw: pd.DataFrame) -> list[str]:
    """What a straightforward implementation does: look at every row, field by field.

    It produces the same reasons as `prepare_snapshot`, so the two can be compared exactly.
    """
    fields = spec(Entity.CONTACT).fields
    rows = raw.to_dict("records")
    seen: dict[object, int] = {}
    for row in rows:
        if row.get("id"):
            seen[row["id"]] = seen.get(row["id"], 0) + 1
    out = []
    for row in rows:
        reasons = []
        for name in fields:
            value = row.get(name)
            if name == "version" or name in TIMESTAMP_FIELDS or value is None or value == "":
                continue
            text = str(value)
            if _CONTROL.search(text):
                reasons.append(f"{name}: control characters")
            if len(text) > MAX_FIELD_CHARS:
                reasons.append(f"{name}: {len(text)} characters (limit {MAX_FIELD_CHARS})")
        if not row.get("id"):
            reasons.append("id: missing")
        elif seen[row["id"]] > 1:
            reasons.append("id: repeated in the snapshot")
        version = row.get("version")
        if version is None or version == "":
            reasons.append("version: missing")
        else:
            try:
                ok = float(version) >= 1 and float(version) % 1 == 0
            except ValueError:
                ok = False
            if not ok:
                reasons.append(f"version: not a positive integer {str(version)[:40]}")
        for name in sorted(TIMESTAMP_FIELDS & set(fields)):
            value = row.get(name)
            if value not in (None, "") and not _naive_date_ok(str(value).strip()):
                reasons.append(f"{name}: unparseable date {str(value)[:40]!r}")
        status = row.get("status") or None
        if status is None:
            reasons.append("status: missing")
        elif status not in ("active", "merged", "flagged"):
            reasons.append("status: not one of active, merged, flagged")
        if status == "merged" and not row.get("merged_into"):
            reasons.append("merged_into: missing for a merged record")
        flags = row.get("flags")
        if flags:
            try:
                if not isinstance(json.loads(flags), list):
                    reasons.append("flags: not a JSON list")
            except json.JSONDecodeError:
                reasons.append("flags: not a JSON list")
        out.append("; ".join(reasons))
    return out


def messy(contacts: int, seed: int) -> pd.DataFrame:
    raw = generate_demo_crm(
        DemoConfig(contacts=contacts, companies=max(1, contacts // 5), seed=seed)
    ).records[Entity.CONTACT]
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(raw), size=max(1, len(raw) // 100), replace=False)
    kinds = np.array_split(rows, 4)
    raw.loc[raw.index[kinds[0]], "last_activity_at"] = "31/31/2020"
    raw.loc[raw.index[kinds[1]], "first_name"] = "Ann\x07"
    raw["version"] = raw["version"].astype(object)
    raw.loc[raw.index[kinds[2]], "version"] = "two"
    raw.loc[raw.index[kinds[3]], "title"] = "x" * (MAX_FIELD_CHARS + 1)
    return raw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    raw = messy(args.contacts, args.seed)

    ours, naive = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        prepared = prepare_snapshot(Entity.CONTACT, raw)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        issues = naive_issues(raw)
        naive.append(time.perf_counter() - start)
    if list(prepared["issues"]) != issues:
        raise SystemExit("the vectorized and naive implementations give different reasons")
    result = {
        "rows": len(raw),
        "malformed_rows": int(prepared["malformed"].sum()),
        "vectorized_seconds_median": round(statistics.median(ours), 3),
        "naive_seconds_median": round(statistics.median(naive), 3),
        "speedup": round(statistics.median(naive) / statistics.median(ours), 1),
        "vectorized_rows_per_second": int(len(raw) / statistics.median(ours)),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "machine": machine(),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
