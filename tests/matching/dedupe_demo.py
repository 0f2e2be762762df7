"""A small demo CRM in a real store and ledger, for the deduplication tests (core and Dagster).

Generation and training are cached per process; each test gets its own store and ledger files,
loaded in well under a second, so tests can merge and unmerge without touching each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from crm_hygiene.demo import DemoConfig, generate_demo_crm
from crm_hygiene.ledger import Ledger
from crm_hygiene.matching.evaluate import PairwiseScores, pairwise_scores
from crm_hygiene.matching.model import TrainedModel, train
from crm_hygiene.matching.records import ENTITIES, EntityRecords
from crm_hygiene.model import Entity
from crm_hygiene.model.snapshot import prepare_snapshot
from crm_hygiene.normalize.records import normalize_tenant
from crm_hygiene.stores import RecordStore, open_store

TENANT = "acme"
CONFIG = DemoConfig(contacts=400, companies=80, seed=5, tenant=TENANT)
MAX_PAIRS = 500_000
TRUTH_TABLES = {Entity.CONTACT: "contact_entities", Entity.COMPANY: "company_entities"}


@dataclass
class Crm:
    store: RecordStore
    ledger: Ledger
    crm_url: str
    ledger_url: str
    schema: str | None = None


@cache
def demo():
    """The demo CRM (records and truth), generated once per process."""
    return generate_demo_crm(CONFIG)


def truth(entity: Entity) -> pd.Series:
    """True entity label by record id."""
    return demo().truth[TRUTH_TABLES[entity]].set_index("record_id")["entity_id"]


@cache
def trained(entity: Entity) -> TrainedModel:
    """A model trained on the demo as loaded (what the first run would train)."""
    crm = demo()
    tables = normalize_tenant({e: prepare_snapshot(e, crm.records[e]) for e in Entity})
    return train(entity, tables[entity].frame, max_pairs=MAX_PAIRS)


def new_crm(
    tmp_path: Path,
    *,
    models: bool = True,
    postgres: tuple[str, str] | None = None,
    spreadsheet: bool = False,
) -> Crm:
    """The demo CRM in a fresh SQLite store, a fresh ledger, and (with `models`) stored models.

    `postgres` (url, schema) puts store and ledger in that PostgreSQL schema instead;
    `spreadsheet` puts the store in a folder of CSV sheets (the ledger stays SQLite)."""
    crm_url = f"sqlite:///{tmp_path / 'crm.sqlite'}" if postgres is None else postgres[0]
    if spreadsheet:
        crm_url = f"spreadsheet:{tmp_path / 'crm_csv'}"
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}" if postgres is None else postgres[0]
    schema = None if postgres is None else postgres[1]
    store = open_store(crm_url, schema=schema)
    crm = demo()
    for entity in (Entity.COMPANY, Entity.CONTACT, Entity.EMPLOYMENT):
        store.insert_records(TENANT, entity, crm.records[entity])
    ledger = Ledger.open(ledger_url, schema=schema)
    ledger.tenants.add([TENANT], by="test")
    if models:
        for entity in ENTITIES:
            model = trained(entity)
            ledger.registry.save_match_model(
                TENANT,
                entity.value,
                model.to_dict(),
                settings_fingerprint=model.settings_fingerprint,
                trained_on=int(model.metadata["records"]),
            )
    return Crm(store, ledger, crm_url, ledger_url, schema)


def records(store: RecordStore, tenant: str = TENANT) -> dict[Entity, EntityRecords]:
    """Snapshot and normalize the tenant as the nightly job does."""
    snapshots = {e: prepare_snapshot(e, store.snapshot(tenant, e)) for e in Entity}
    tables = normalize_tenant(snapshots)
    return {e: EntityRecords(e, snapshots[e], tables[e].frame) for e in ENTITIES}


def merged_precision(
    store: RecordStore, entity: Entity, record_ids: set[str] | None = None
) -> PairwiseScores:
    """Pairwise scores of the merges in the store (loser with its survivor) against the truth."""
    snapshot = store.snapshot(TENANT, entity)
    label = snapshot["merged_into"].where(snapshot["status"] == "merged", snapshot["id"])
    predicted = pd.Series(label.to_numpy(), index=snapshot["id"].to_numpy())
    known = truth(entity)
    predicted = predicted[predicted.index.isin(known.index)]
    if record_ids is not None:
        predicted = predicted[predicted.index.isin(record_ids)]
    return pairwise_scores(predicted, known)


def duplicate_of(store: RecordStore, record_id: str, new_id: str) -> pd.DataFrame:
    """A copy of a contact under a new id, as a second web form would create it."""
    row = store.read(TENANT, Entity.CONTACT, [record_id]).iloc[[0]].copy()
    row["id"] = new_id
    row["source_system_id"] = f"form-{new_id}"
    keep = ["id", "source_system_id", "first_name", "last_name", "email", "phone", "title", "company_id"]
    keep += ["company_name", "city", "country", "owner"]
    return row[keep]


def twin_crm(crm: Crm, tmp_path: Path) -> Crm:
    """The same demo CRM, fresh, in the same kind of store (SQLite for PostgreSQL)."""
    return new_crm(tmp_path / "twin", spreadsheet=crm.crm_url.startswith("spreadsheet:"))
