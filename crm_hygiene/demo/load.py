"""Load the generated demo CRM into a store and write its ground truth beside it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from crm_hygiene.demo import DemoConfig, generate_demo_crm, write_truth
from crm_hygiene.model import Entity, spec
from crm_hygiene.stores import RecordStore


@dataclass(frozen=True)
class DemoLoad:
    loaded: dict[str, int]
    kept_existing: dict[str, int]
    truth_files: list[Path]


def load_demo(
    store: RecordStore,
    config: DemoConfig,
    truth_dir: Path,
    *,
    progress: Callable[[str], None] = lambda _: None,
) -> DemoLoad:
    """Fill an empty tenant with the demo CRM; a tenant that already holds records is left alone."""
    existing = {spec(e).table: store.count(config.tenant, e) for e in Entity}
    if any(existing.values()):
        progress(f"tenant {config.tenant!r} already holds records {existing}: keeping them")
        return DemoLoad({}, existing, [])
    progress(f"generating {config.contacts} contacts and {config.companies} companies (seed {config.seed})")
    demo = generate_demo_crm(config)
    loaded: dict[str, int] = {}
    for entity in (Entity.COMPANY, Entity.CONTACT, Entity.EMPLOYMENT):
        frame = demo.records[entity]
        loaded[spec(entity).table] = store.insert_records(config.tenant, entity, frame)
        progress(f"loaded {len(frame)} {spec(entity).table} into {store.description}")
    files = write_truth(demo, truth_dir)
    progress(f"ground truth written to {truth_dir}")
    return DemoLoad(loaded, {}, files)
