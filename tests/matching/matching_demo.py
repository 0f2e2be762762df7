"""A small demo CRM, normalized, with trained models, shared by the matching tests.

Plain cached functions rather than fixtures: several test modules import them, and a cache
keeps generation (about 1.5 s) and training (about 1-2 s per entity) to once per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pandas as pd

from crm_hygiene.demo import DemoConfig, generate_demo_crm
from crm_hygiene.matching.model import TrainedModel, train
from crm_hygiene.model.records import Entity
from crm_hygiene.model.snapshot import prepare_snapshot
from crm_hygiene.normalize.records import normalize_tenant

CONFIG = DemoConfig(contacts=2000, companies=400, seed=7)
# Small tables hold fewer than 2 M pairs in all; a smaller sample keeps training quick.
MAX_PAIRS = 2_000_000


@dataclass(frozen=True)
class MatchingDemo:
    frames: dict[Entity, pd.DataFrame]  # normalized frames
    truth: dict[Entity, pd.Series]  # true entity id by record id


@cache
def demo() -> MatchingDemo:
    crm = generate_demo_crm(CONFIG)
    tables = normalize_tenant({e: prepare_snapshot(e, crm.records[e]) for e in Entity})
    truth = {
        Entity.CONTACT: crm.truth["contact_entities"].set_index("record_id")["entity_id"],
        Entity.COMPANY: crm.truth["company_entities"].set_index("record_id")["entity_id"],
    }
    return MatchingDemo(
        frames={e: tables[e].frame for e in (Entity.CONTACT, Entity.COMPANY)},
        truth=truth,
    )


@cache
def trained(entity: Entity) -> TrainedModel:
    return train(entity, demo().frames[entity], max_pairs=MAX_PAIRS)


def frame(entity: Entity) -> pd.DataFrame:
    """A copy of the demo's normalized frame, safe to modify."""
    return demo().frames[entity].copy()
