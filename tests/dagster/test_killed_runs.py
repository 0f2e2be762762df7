"""A run killed with SIGKILL never reports its end: the next `crm-hygiene run` marks it failed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

CLI = str(Path(sys.executable).with_name("crm-hygiene"))


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_HYGIENE_", "DAGSTER_HOME"))}
    env["CRM_HYGIENE_HOME"] = str(home)
    env["DAGSTER_HOME"] = str(home / "dagster")
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    return env


def _runs(home: Path) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        return list(instance.get_runs())


def test_a_killed_run_is_marked_failed_and_the_next_run_goes_ahead(tmp_path: Path) -> None:
    env = _env(tmp_path)
    demo = [CLI, "demo", "--contacts", "300", "--companies", "60", "--seed", "5", "--tenant", "t1"]
    assert subprocess.run(demo, env=env, capture_output=True, timeout=300).returncode == 0
    doomed = subprocess.Popen(
        [CLI, "run", "--tenant", "t1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 240
    while not any(r.status is dg.DagsterRunStatus.STARTED for r in _runs(tmp_path)):
        assert doomed.poll() is None and time.monotonic() < deadline, "the run never started"
        time.sleep(0.2)
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=30)
    (killed,) = _runs(tmp_path)
    assert killed.status is dg.DagsterRunStatus.STARTED  # what a killed process leaves behind

    again = subprocess.run(
        [CLI, "run", "--tenant", "t1"], env=env, capture_output=True, text=True, timeout=600
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"run {killed.run_id}: its process {doomed.pid}" in again.stderr and "is gone" in again.stderr
    statuses = {r.run_id: r.status for r in _runs(tmp_path)}
    assert statuses[killed.run_id] is dg.DagsterRunStatus.FAILURE
    assert sorted(s.value for s in statuses.values()) == ["FAILURE", "SUCCESS"]
