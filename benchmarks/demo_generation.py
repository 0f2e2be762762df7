"""How long a demo CRM takes to generate, and how much memory it needs.

    python benchmarks/demo_generation.py --contacts 1000000 --companies 200000 --repeat 1

Prints one JSON object: median seconds over the repeats (the first repeat also builds the
Faker pools, about a second), peak resident memory of the process, record and truth counts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from machine import machine, peak_rss_mb

from crm_hygiene.demo import DemoConfig, generate_demo_crm


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
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "records": records,
        "truth_rows": truth,
        "machine": machine(),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
