"""The demo CRM the deduplication benchmarks run on, prepared once per size and seed and cached.

`prepare(contacts, seed, cache)` generates `DemoConfig(contacts=N, companies=N // 5, seed)`,
snapshots and normalizes it (`normalize_tenant` on a worker pool of every core) and writes one
folder of Parquet files:

- `contact_normalized.parquet`, `company_normalized.parquet`: the normalized columns
  `crm_hygiene.matching.inputs.match_input` reads, for every record;
- `contact_raw.parquet`: `unique_id` and the contact columns as stored in the CRM
  (first_name, last_name, email, phone, city, company_name), for plain Splink;
- `contact_truth.parquet`, `company_truth.parquet`: `record_id`, `entity_id` (the demo truth);
- `contact_hard_negatives.parquet`: pairs of different people who share much (relatives,
  switchboard colleagues), by entity id, with their kind.

None of this is timed: the benchmarks read the folder in fresh processes.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from crm_hygiene.model import Entity

ENTITIES = (Entity.CONTACT, Entity.COMPANY)
RAW_CONTACT_COLUMNS = ("first_name", "last_name", "email", "phone", "city", "company_name")


# Bumped when the demo or the normalized columns change, so that no stale cache is read.
CACHE_VERSION = 3


def folder(contacts: int, seed: int, cache: Path) -> Path:
    return cache / f"dedupe_{contacts}_{seed}_v{CACHE_VERSION}"


def prepare(contacts: int, seed: int, cache: Path, *, log: bool = True) -> Path:
    """The cache folder for this size and seed, made if missing (see the module docstring)."""
    out = folder(contacts, seed, cache)
    done = out / "DONE"
    if done.exists():
        return out
    from crm_hygiene.demo import DemoConfig, generate_demo_crm
    from crm_hygiene.matching.inputs import SOURCE_COLUMNS
    from crm_hygiene.model.snapshot import prepare_snapshot
    from crm_hygiene.normalize.records import normalize_tenant
    from crm_hygiene.normalize.workers import worker_pool

    started = time.perf_counter()
    demo = generate_demo_crm(DemoConfig(contacts=contacts, companies=max(contacts // 5, 1), seed=seed))
    out.mkdir(parents=True, exist_ok=True)
    raw = demo.records[Entity.CONTACT]
    pd.DataFrame({"unique_id": raw["id"].astype(str), **{c: raw[c] for c in RAW_CONTACT_COLUMNS}}).to_parquet(
        out / "contact_raw.parquet", index=False
    )
    for entity, table in (
        (Entity.CONTACT, "contact_entities"),
        (Entity.COMPANY, "company_entities"),
    ):
        demo.truth[table][["record_id", "entity_id"]].to_parquet(
            out / f"{entity.value}_truth.parquet", index=False
        )
    demo.truth["hard_negatives"].to_parquet(out / "contact_hard_negatives.parquet", index=False)
    snapshots = {e: prepare_snapshot(e, demo.records[e]) for e in Entity}
    del demo
    with worker_pool():
        tables = normalize_tenant(snapshots)
    for entity in ENTITIES:
        tables[entity].frame[list(SOURCE_COLUMNS[entity])].to_parquet(
            out / f"{entity.value}_normalized.parquet", index=False
        )
    done.write_text(f"prepared in {time.perf_counter() - started:.1f} s\n")
    if log:
        print(f"prepared {out} in {time.perf_counter() - started:.1f} s", flush=True)
    return out


def normalized(path: Path, entity: Entity) -> pd.DataFrame:
    return pd.read_parquet(path / f"{entity.value}_normalized.parquet")


def truth(path: Path, entity: Entity) -> pd.Series:
    table = pd.read_parquet(path / f"{entity.value}_truth.parquet")
    return table.set_index("record_id")["entity_id"]


def raw_contacts(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path / "contact_raw.parquet")


def hard_negatives(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path / "contact_hard_negatives.parquet")
