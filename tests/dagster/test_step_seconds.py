"""Every asset and check records its wall seconds as metadata, added in one place."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import pytest

from crm_hygiene_dagster.assets.factory import STEP_PEAK_RSS_MB, STEP_SECONDS, timed


def test_timed_adds_the_wall_seconds_to_what_a_step_returns() -> None:
    def slow(context: object) -> dg.MaterializeResult:
        time.sleep(0.05)
        return dg.MaterializeResult(metadata={"rows": dg.MetadataValue.int(3)})

    result = timed(slow)(None)
    assert result.metadata["rows"] == dg.MetadataValue.int(3)
    assert result.metadata[STEP_SECONDS].value >= 0.05
    # On Linux, the process's peak memory while the step ran (reset before it starts).
    if Path("/proc/self/clear_refs").exists():
        assert result.metadata[STEP_PEAK_RSS_MB].value > 10


def test_the_peak_memory_is_the_steps_own() -> None:
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("the peak RSS of a process can be reset on Linux only")
    hungry = timed(lambda: (bytearray(300 * 1024 * 1024), dg.MaterializeResult())[1])()
    light = timed(lambda: dg.MaterializeResult())()
    assert hungry.metadata[STEP_PEAK_RSS_MB].value >= light.metadata[STEP_PEAK_RSS_MB].value + 250

    check = timed(lambda: dg.AssetCheckResult(passed=False))()
    assert check.passed is False and check.metadata[STEP_SECONDS].value >= 0


def test_timed_keeps_the_signature_dagster_reads() -> None:
    def step(context: dg.AssetExecutionContext, warehouse: object) -> dg.MaterializeResult:
        return dg.MaterializeResult()

    wrapped = timed(step)
    assert wrapped.__name__ == "step"
    assert wrapped.__wrapped__ is step  # type: ignore[attr-defined]
