"""Same config, same CRM: frames and truth are reproducible from the seed alone."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_hygiene.demo import DemoConfig, DemoCrm, generate_demo_crm
from crm_hygiene.demo.pools import build_pools
from crm_hygiene.model.records import Entity

SMALL = DemoConfig(contacts=1500, companies=300, seed=5)


@pytest.fixture(scope="module")
def first() -> DemoCrm:
    return generate_demo_crm(SMALL)


def test_same_config_gives_identical_frames(first: DemoCrm) -> None:
    build_pools.cache_clear()  # the Faker pools must be reproducible too, not just cached
    again = generate_demo_crm(SMALL)
    for entity in Entity:
        pd.testing.assert_frame_equal(first.records[entity], again.records[entity])
    assert first.truth.keys() == again.truth.keys()
    for name in first.truth:
        pd.testing.assert_frame_equal(first.truth[name], again.truth[name])


def test_another_seed_gives_another_crm(first: DemoCrm) -> None:
    other = generate_demo_crm(DemoConfig(contacts=1500, companies=300, seed=6))
    for entity in Entity:
        mine, theirs = first.records[entity], other.records[entity]
        assert list(mine.columns) == list(theirs.columns)
        assert not mine.equals(theirs)
    names = set(first.records[Entity.COMPANY]["name"])
    assert len(names & set(other.records[Entity.COMPANY]["name"])) < 0.2 * len(names)
    emails = set(first.records[Entity.CONTACT]["email"].dropna())
    assert len(emails & set(other.records[Entity.CONTACT]["email"].dropna())) < 0.2 * len(emails)


def test_the_clock_does_not_matter(first: DemoCrm) -> None:
    # Everything is anchored at config.now, so a later run is byte-identical.
    assert first.records[Entity.CONTACT]["created_at"].max() < SMALL.now.isoformat()
