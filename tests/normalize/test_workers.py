"""The worker pool: the same results as one process, and a clean fallback when it cannot be used."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_hygiene.normalize import workers
from crm_hygiene.normalize.base import per_distinct
from crm_hygiene.normalize.countries import normalize_country
from crm_hygiene.normalize.phones import normalize_phone
from crm_hygiene.normalize.records import normalize_contacts
from crm_hygiene.normalize.workers import map_values, worker_pool


def _explode(text: str) -> dict[str, object]:
    raise ValueError(f"cannot read {text!r}")


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send even tiny batches to the pool, so the tests stay fast."""
    monkeypatch.setattr(workers, "MIN_PARALLEL_VALUES", 2)


def test_one_worker_means_no_pool() -> None:
    with worker_pool(1) as used:
        assert used == 1
        assert workers._POOL.get() is None


@pytest.mark.usefixtures("small_batches")
def test_the_pool_gives_exactly_what_one_process_gives() -> None:
    phones = pd.Series(
        ["+44 20 7946 0018", "(415) 555-0134", None, "n/a", "030 1234567", "(415) 555-0134", "x" * 2000] * 7,
        index=pd.RangeIndex(100, 149),
    )
    regions = pd.Series(["GB", "US", "DE", None, "DE", "US", "FR"] * 7, index=phones.index)
    alone = per_distinct(
        phones, normalize_phone, ("value", "valid", "reason", "rule", "confidence"), context=regions
    )
    with worker_pool(2) as used:
        assert used == 2
        pooled = per_distinct(
            phones, normalize_phone, ("value", "valid", "reason", "rule", "confidence"), context=regions
        )
    pd.testing.assert_frame_equal(alone, pooled)
    assert pooled.loc[101, "value"] == "+14155550134"


@pytest.mark.usefixtures("small_batches")
def test_whole_tables_are_the_same_on_the_pool() -> None:
    from crm_hygiene.demo import DemoConfig, generate_demo_crm
    from crm_hygiene.model import Entity
    from crm_hygiene.model.snapshot import prepare_snapshot

    demo = generate_demo_crm(DemoConfig(contacts=400, companies=80, seed=3))
    snapshot = prepare_snapshot(Entity.CONTACT, demo.records[Entity.CONTACT])
    alone = normalize_contacts(snapshot).frame
    with worker_pool(2):
        pooled = normalize_contacts(snapshot).frame
    pd.testing.assert_frame_equal(alone, pooled)


@pytest.mark.usefixtures("small_batches")
def test_a_function_that_cannot_travel_runs_here() -> None:
    with worker_pool(2):
        assert map_values(lambda text: normalize_country(text)["value"], [("Deutschland",), ("U.S.A.",)]) == [
            "DE",
            "US",
        ]


@pytest.mark.usefixtures("small_batches")
def test_an_error_in_a_worker_reaches_the_caller() -> None:
    with worker_pool(2), pytest.raises(ValueError, match="cannot read 'b'"):
        map_values(_explode, [("b",), ("b",), ("b",)])


def test_the_pool_is_closed_and_forgotten_after_use() -> None:
    with worker_pool(2):
        assert workers._POOL.get() is not None
    assert workers._POOL.get() is None
