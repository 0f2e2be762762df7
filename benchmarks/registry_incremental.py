"""Entity ids of an incremental run: the registry asked for the changed clusters only.

    python benchmarks/registry_incremental.py --records 200000 --changed 2000

A SQLite ledger in a scratch folder gets `--records` contact records in clusters of one to
three (a first run, `DedupRegistry.assign_entity_ids`, not timed); then `--changed` records
move to another cluster or a cluster of their own, and `matching.clusters.assign_ids` gives
the ids of the second run with the first run's table as `previous`, as `duplicate_clusters`
does on an incremental run (timed: `--repeat` times, each on a fresh copy of the ledger).
Prints one JSON object with the seconds of each repeat and their median.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from machine import machine

from crm_hygiene.ledger import Ledger
from crm_hygiene.matching.clusters import assign_ids
from crm_hygiene.model import Entity

TENANT = "bench"


def _clusters(records: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = np.array([f"c{i:08d}" for i in range(records)], dtype=object)
    # Clusters of one to three records, as a CRM after deduplication mostly holds.
    label = np.repeat(np.arange(records), rng.integers(1, 4, records))[:records]
    return pd.DataFrame({"record_id": ids, "cluster": "k" + pd.Series(label).astype(str)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--changed", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    first = _clusters(args.records, seed=1)
    rng = np.random.default_rng(2)
    second = first.copy()
    moved = rng.choice(args.records, args.changed, replace=False)
    # Half join another record's cluster, half leave for a cluster of their own.
    half = args.changed // 2
    second.loc[moved[:half], "cluster"] = second.loc[rng.choice(args.records, half), "cluster"].to_numpy()
    second.loc[moved[half:], "cluster"] = "alone" + pd.Series(moved[half:]).astype(str).to_numpy()
    seconds = []
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "ledger.db"
        ledger = Ledger.open(f"sqlite:///{base}")
        assigned = ledger.registry.assign_entity_ids(TENANT, "contact", first, run_id="first")
        ledger.close()
        previous = first.assign(
            auto_cluster=first["cluster"],
            auto_size=first.groupby("cluster")["record_id"].transform("size"),
            entity_id=first["record_id"].map(assigned.set_index("record_id")["entity_id"]),
        )
        for number in range(args.repeat):
            copy = Path(folder) / f"copy{number}.db"
            shutil.copy(base, copy)
            ledger = Ledger.open(f"sqlite:///{copy}")
            started = time.perf_counter()
            assign_ids(ledger.registry, TENANT, Entity.CONTACT, second, run_id="second", previous=previous)
            seconds.append(round(time.perf_counter() - started, 3))
            ledger.close()
    print(
        json.dumps(
            {
                "records": args.records,
                "changed": args.changed,
                "seconds": seconds,
                "median": statistics.median(seconds),
                "machine": machine(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
