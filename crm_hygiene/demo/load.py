"""Load the generated demo CRM into a store and write its ground truth beside it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from crm_hygiene.demo import DemoConfig, generate_demo_crm, write_truth
from crm_hygiene.model import Entity, spec
from crm_hygiene.stores import RecordStore


@dataclass(frozen=True)
class DemoLoad:
    loaded: dict[str, int]
    kept_existing: dict[str, int]
    truth_files: list[Path]
    # Values the store could not hold as generated (NUL in PostgreSQL): stores.REPLACED_COLUMNS.
    replaced: pd.DataFrame | None = None


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
    # All entities at once: a failure leaves the tenant empty, never half loaded.
    report = store.insert_tenant(
        config.tenant, {e: demo.records[e] for e in (Entity.COMPANY, Entity.CONTACT, Entity.EMPLOYMENT)}
    )
    loaded = {spec(entity).table: count for entity, count in report.counts.items()}
    progress(f"loaded {', '.join(f'{n} {table}' for table, n in loaded.items())} into {store.description}")
    if len(report.replaced):
        fields = ", ".join(
            sorted(
                {f"{e}.{f}" for e, f in zip(report.replaced["entity"], report.replaced["field"], strict=True)}
            )
        )
        progress(
            f"{len(report.replaced)} values held characters the store cannot hold ({fields}): stored with "
            "U+FFFD in their place, the records flagged text_replaced:<field>"
        )
    files = write_truth(demo, truth_dir)
    progress(f"ground truth written to {truth_dir}")
    return DemoLoad(loaded, {}, files, report.replaced)
