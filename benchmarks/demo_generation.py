"""How long a demo CRM takes to generate, and how much memory it needs.

    python benchmarks/demo_generation.py --contacts 1000000 --companies 200000 --repeat 1

Prints one JSON object: median seconds over the repeats (the first repeat also builds the
Faker pools, about a second), peak resident memory of the process, record and truth counts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

from crm_hygiene.demo import DemoConfig, generate_demo_crm


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _machine() -> dict[str, object]:
    info: dict[str, object] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    cpuinfo, meminfo = Path("/proc/cpuinfo"), Path("/proc/meminfo")
    if cpuinfo.exists():
        models = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line
        ]
        info["cpu_model"] = models[0] if models else None
    if meminfo.exists():
        total_kib = int(meminfo.read_text().split("MemTotal:", 1)[1].split()[0])
        info["ram_gib"] = round(total_kib / 1024**2, 1)
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--companies", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    config = DemoConfig(contacts=args.contacts, companies=args.companies, seed=args.seed)
    seconds: list[float] = []
    records: dict[str, int] = {}
    truth: dict[str, int] = {}
    for _ in range(args.repeat):
        start = time.perf_counter()
        demo = generate_demo_crm(config)
        seconds.append(time.perf_counter() - start)
        records = {entity.value: len(frame) for entity, frame in demo.records.items()}
        truth = {name: len(table) for name, table in demo.truth.items()}
        del demo
    result = {
        "contacts": args.contacts,
        "companies": args.companies,
        "seed": args.seed,
        "repeat": args.repeat,
        "seconds": round(statistics.median(seconds), 2),
        "seconds_each": [round(s, 2) for s in seconds],
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "records": records,
        "truth_rows": truth,
        "machine": _machine(),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
