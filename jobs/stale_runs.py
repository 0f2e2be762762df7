"""Runs whose process is gone: a run killed with SIGKILL (or by the OOM killer, or a power cut)
never reports its end and stays STARTED in the Dagster instance. With one run allowed at a
time (deploy/dagster.yaml), such a run would block every later one.

`crm-hygiene run` tags its run with the process id and host (`worker_tags`) and, before it
starts, marks failed every started run of the job whose tagged process on this host is gone
(`fail_dead_runs`). Runs the daemon launches are covered by Dagster's run monitoring, enabled
in deploy/dagster.yaml, and the job's `dagster/max_runtime` tag.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

import dagster as dg

PID_TAG = "crm_hygiene/pid"
HOST_TAG = "crm_hygiene/host"
_UNFINISHED = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING]


def worker_tags() -> dict[str, str]:
    """The tags that let a later run tell whether this process is still running."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def fail_dead_runs(
    instance: dg.DagsterInstance, job_name: str, say: Callable[[str], None] = lambda _: None
) -> list[str]:
    """Mark failed each unfinished run of `job_name` whose tagged process on this host is gone;
    returns their run ids. A run without the tags, or of another host, is left to run monitoring."""
    host = socket.gethostname()
    failed = []
    for run in instance.get_runs(filters=dg.RunsFilter(job_name=job_name, statuses=_UNFINISHED)):
        pid = run.tags.get(PID_TAG)
        if pid is None or run.tags.get(HOST_TAG) != host or not pid.isdigit() or _alive(int(pid)):
            continue
        message = (
            f"its process {pid} on {host} is gone (killed or crashed): marked failed so later runs can start"
        )
        instance.report_run_failed(run, message=message)
        say(f"run {run.run_id}: {message}")
        failed.append(run.run_id)
    return failed
