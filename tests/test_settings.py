"""Settings from the environment: defaults embedded under one home, clear errors for bad values."""

from __future__ import annotations

import pytest

from crm_hygiene.config import WORKERS_ENV, Settings


def test_workers_default_to_every_core_and_read_a_count() -> None:
    assert Settings.from_env({}).workers is None
    assert Settings.from_env({WORKERS_ENV: "1"}).workers == 1
    assert Settings.from_env({WORKERS_ENV: "4"}).workers == 4


@pytest.mark.parametrize("text", ["two", "0", "-1", "1.5"])
def test_a_bad_worker_count_is_refused_by_name(text: str) -> None:
    with pytest.raises(ValueError, match=WORKERS_ENV):
        Settings.from_env({WORKERS_ENV: text})
