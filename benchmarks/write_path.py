"""The audited write path: batched against one change (or one merge) at a time, per store.

    python benchmarks/write_path.py --contacts 200000 --changes 200000 --merges 100000
    python benchmarks/write_path.py --stores sqlite --contacts 20000 --changes 20000 --merges 5000 --naive 500

For each store (a SQLite file with a SQLite ledger beside it; a PostgreSQL schema holding
both, on the server at `--postgres`), a fresh demo CRM (`--contacts` contacts, a fifth as
many companies) is loaded, outside the timing. Then, timed:

- `changes`: `--changes` field changes (a contact's title re-cased, as a standardization fix
  would be) through `AuditedWriter.apply_frame`: proposals recorded, the intent, one guarded
  store batch, one audit entry per change, statuses. Then the same writer fed one change
  per call (`AuditedWriter.apply([proposal])`, the path every change took before batches)
  for `--naive` other contacts: the naive loop the batch is measured against.
- `merges`: `--merges` merge proposals (nine in ten of contacts, one in ten of companies,
  each loser a distinct record, each with one survivorship value to write) through
  `apply_merge_proposals` as the nightly `applied_merges` step runs it: the loser marked,
  every reference re-pointed (a company's contacts and employment rows, a contact's
  employment and reporting lines), the survivor's value, one audit entry per write. Then
  `--naive` more merges one per batch (`merges_per_batch=1`).

Prints one JSON object per store with seconds, rates and the ratio batched / naive, then one
naming the machine. The machine is shared: quote the ratios.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from machine import machine, peak_rss_mb

from crm_hygiene.apply.audited import AuditedWriter
from crm_hygiene.apply.merges import apply_merge_proposals
from crm_hygiene.demo import DemoConfig, generate_demo_crm
from crm_hygiene.ledger import ChangeKind, Ledger, Proposal
from crm_hygiene.ledger.codec import dumps
from crm_hygiene.matching.proposals import empty_proposals, merge_change_id
from crm_hygiene.model import Entity
from crm_hygiene.stores import RecordStore, open_store

TENANT = "bench"
POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def _open(kind: str, folder: Path, postgres: str) -> tuple[RecordStore, Ledger, str | None]:
    if kind == "sqlite":
        return (
            open_store(f"sqlite:///{folder / 'crm.sqlite'}"),
            Ledger.open(f"sqlite:///{folder / 'ledger.sqlite'}"),
            None,
        )
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    ledger = Ledger.open(postgres, schema=schema)  # creates the schema the store then uses
    return open_store(postgres, schema=schema), ledger, schema


def _title_changes(contacts: pd.DataFrame) -> pd.DataFrame:
    """A title re-cased per contact: what a standardization fix writes, with its evidence."""
    old = contacts["title"].astype(object)
    new = old.where(old.isna(), old.astype(str).str.upper()).where(old.notna(), "Unknown")
    frame = pd.DataFrame(
        {
            "tenant": TENANT,
            "entity": "contact",
            "record_id": contacts["id"].astype(str).to_numpy(),
            "field": "title",
            "old_value": old.to_numpy(),
            "new_value": new.to_numpy(),
            "kind": ChangeKind.STANDARDIZE.value,
            "source": "titles",
            "evidence": dumps({"rule": "title_case", "confidence": 0.97}),
            "confidence": 0.97,
            "expected_version": pd.array(contacts["version"].astype(int).to_numpy(), dtype="Int64"),
            "group_id": None,
        }
    )
    frame["change_id"] = [
        Proposal.new(
            TENANT, "contact", r, "title", o, n, ChangeKind.STANDARDIZE, "titles", {}, 0.97, "p"
        ).change_id
        for r, o, n in zip(frame["record_id"], frame["old_value"], frame["new_value"], strict=True)
    ]
    return frame


def _merge_proposals(
    records: dict[Entity, pd.DataFrame], merges: int, rng: np.random.Generator
) -> pd.DataFrame:
    """`merges` proposals between distinct live records: survivor, loser, one value to write."""
    rows = []
    for entity, share in ((Entity.CONTACT, 0.9), (Entity.COMPANY, 0.1)):
        frame = records[entity]
        wanted = min(round(merges * share), len(frame) // 2)
        picked = frame.iloc[rng.permutation(len(frame))[: 2 * wanted]]
        survivors, losers = picked.iloc[:wanted], picked.iloc[wanted:]
        field = "title" if entity is Entity.CONTACT else "industry"
        for survivor, loser in zip(survivors.itertuples(), losers.itertuples(), strict=True):
            old = getattr(survivor, field)
            new = f"{getattr(loser, field) or 'merged'} (kept)"
            rows.append(
                {
                    "change_id": merge_change_id(TENANT, entity, survivor.id, loser.id),
                    "tenant": TENANT,
                    "entity": entity.value,
                    "cluster": f"{entity.value}-{survivor.id}",
                    "entity_id": None,
                    "survivor_id": survivor.id,
                    "loser_id": loser.id,
                    "cluster_size": 2,
                    "match_probability": 0.999,
                    "weakest_probability": 0.999,
                    "explanation": "name (+9.1), email (+12.3), phone (+8.0)",
                    "evidence_pair": f"{survivor.id}|{loser.id}",
                    "decision": "auto",
                    "reason": "",
                    "field_values": json.dumps(
                        [{"field": field, "old": None if pd.isna(old) else old, "new": new, "write": True}]
                    ),
                    "survivor_version": int(survivor.version),
                    "loser_version": int(loser.version),
                    "model_version": 1,
                    "policy_version": "bench",
                }
            )
    out = pd.DataFrame(rows)
    return pd.concat([empty_proposals(), out], ignore_index=True) if len(out) else empty_proposals()


def _run(kind: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    store, ledger, schema = _open(kind, folder, args.postgres)
    try:
        demo = generate_demo_crm(
            DemoConfig(contacts=args.contacts, companies=args.contacts // 5, seed=7, tenant=TENANT)
        )
        for entity in (Entity.COMPANY, Entity.CONTACT, Entity.EMPLOYMENT):
            # PostgreSQL text cannot hold the NUL bytes the demo pastes into a few cells.
            frame = demo.records[entity].replace("\x00", "", regex=True)
            store.insert_records(TENANT, entity, frame)
        ledger.tenants.add([TENANT], by="bench")
        writer = AuditedWriter(store, ledger, run_id="bench", policy_version="bench")
        rng = np.random.default_rng(7)
        contacts = store.snapshot(TENANT, Entity.CONTACT)
        order = rng.permutation(len(contacts))
        batch = contacts.iloc[order[: args.changes]]
        naive = contacts.iloc[order[args.changes : args.changes + args.naive]]
        out: dict[str, Any] = {"store": kind, "contacts": args.contacts}

        frame = _title_changes(batch)
        start = time.perf_counter()
        applied = writer.apply_frame(TENANT, frame)
        seconds = time.perf_counter() - start
        out["changes"] = {
            "changes": len(frame),
            "audited": len(applied.audited),
            "seconds": round(seconds, 2),
            "changes_per_second": round(len(frame) / seconds),
        }
        one_at_a_time = _title_changes(naive)
        start = time.perf_counter()
        for _, row in one_at_a_time.iterrows():
            writer.apply_frame(TENANT, row.to_frame().T.reset_index(drop=True))
        seconds = time.perf_counter() - start
        out["changes"]["naive_changes"] = len(one_at_a_time)
        out["changes"]["naive_changes_per_second"] = round(len(one_at_a_time) / seconds, 1)
        out["changes"]["ratio"] = round(
            out["changes"]["changes_per_second"] / out["changes"]["naive_changes_per_second"], 1
        )

        records = {e: store.snapshot(TENANT, e) for e in (Entity.CONTACT, Entity.COMPANY)}
        proposals = _merge_proposals(records, args.merges + args.naive, rng)
        naive_rows = proposals.groupby("entity", group_keys=False).head(args.naive // 2)
        batched_rows = proposals.drop(naive_rows.index)
        start = time.perf_counter()
        merged = apply_merge_proposals(writer, batched_rows, tenant=TENANT)
        seconds = time.perf_counter() - start
        counts = merged.counts()
        out["merges"] = {
            "merges": len(batched_rows),
            "merged": counts["merged"],
            "conflicts": counts["conflict"],
            "audit_entries": counts["audit_entries"],
            "seconds": round(seconds, 2),
            "merges_per_second": round(counts["merged"] / seconds),
        }
        start = time.perf_counter()
        single = apply_merge_proposals(writer, naive_rows, tenant=TENANT, merges_per_batch=1)
        seconds = time.perf_counter() - start
        out["merges"]["naive_merges"] = single.counts()["merged"]
        out["merges"]["naive_merges_per_second"] = round(single.counts()["merged"] / seconds, 1)
        out["merges"]["ratio"] = round(
            out["merges"]["merges_per_second"] / out["merges"]["naive_merges_per_second"], 1
        )
        out["peak_rss_mb"] = round(peak_rss_mb())
        return out
    finally:
        store.close()  # type: ignore[attr-defined]
        ledger.close()
        if schema:
            engine = sa.create_engine(args.postgres)
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--stores", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--merges", type=int, default=50_000)
    parser.add_argument("--naive", type=int, default=1_000, help="changes and merges made one at a time")
    parser.add_argument("--postgres", default=POSTGRES)
    args = parser.parse_args(argv)
    for kind in args.stores:
        with tempfile.TemporaryDirectory(prefix="write_path_") as folder:
            print(json.dumps(_run(kind, args, Path(folder))), flush=True)
    print(json.dumps({"machine": machine()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
