"""The Definitions load, and the graph has the shape the design promises."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from crm_hygiene_dagster.assets.partitions import tenants
from crm_hygiene_dagster.jobs import NIGHTLY_CRON, nightly_hygiene_schedule
from crm_hygiene_dagster.jobs.cli import build_parser
from crm_hygiene_dagster.jobs.definitions import defs
from crm_hygiene_dagster.resources import LedgerResource

ROOT = Path(__file__).resolve().parents[2]

ALL_ASSETS = {
    "crm_snapshot",
    "normalized_records",
    "standardization_proposals",
    "candidate_pairs",
    "duplicate_clusters",
    "merge_proposals",
    "applied_merges",
}


def test_asset_graph_shape() -> None:
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == ALL_ASSETS
    for key in keys:
        assert graph.get(dg.AssetKey(key)).partitions_def == tenants
    parents = {
        "crm_snapshot": set(),
        "normalized_records": {"crm_snapshot"},
        "standardization_proposals": {"normalized_records"},
        "candidate_pairs": {"normalized_records"},
        "duplicate_clusters": {"candidate_pairs"},
        "merge_proposals": {"duplicate_clusters"},
        "applied_merges": {"merge_proposals"},
    }
    for key, expected in parents.items():
        assert graph.get(dg.AssetKey(key)).parent_keys == {dg.AssetKey(p) for p in expected}, key
    checks = {key.name: key.asset_key.to_user_string() for key in graph.asset_check_keys}
    assert checks == {
        "crm_snapshot_schema": "crm_snapshot",
        "normalized_records_schema": "normalized_records",
        "normalized_records_expectations": "normalized_records",
        "merge_proposals_schema_check": "merge_proposals",
    }


def test_checks_that_protect_the_crm_are_blocking() -> None:
    for checks_def in defs.asset_checks:
        assert checks_def.get_spec_for_check_key(checks_def.check_key).blocking is True, checks_def.check_key


def test_nightly_job_and_schedule() -> None:
    job = defs.resolve_job_def("nightly_hygiene")
    assert job.partitions_def == tenants
    selected = {key.to_user_string() for key in job.asset_layer.selected_asset_keys}
    assert selected == ALL_ASSETS
    schedule = defs.resolve_schedule_def("nightly_hygiene_schedule")
    assert schedule.cron_schedule == NIGHTLY_CRON
    assert schedule.job_name == "nightly_hygiene"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_schedule_requests_one_run_per_tenant_of_the_ledger(tmp_path: Path) -> None:
    ledger = LedgerResource(url=f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    with dg.instance_for_test() as instance:
        night = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
        empty = nightly_hygiene_schedule(
            dg.build_schedule_context(instance=instance, scheduled_execution_time=night), ledger=ledger
        )
        assert isinstance(empty, dg.SkipReason)
        # The skip message's command must be one the CLI accepts.
        command = empty.skip_message.split("`")[1].split()
        assert command[:3] == ["crm-hygiene", "tenants", "add"]
        args = build_parser().parse_args([*command[1:3], "acme"])
        assert args.action == "add" and args.names == ["acme"]

        with ledger.open() as book:
            book.tenants.add(["acme", "globex"], by="test")
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=night)
        requests = nightly_hygiene_schedule(context, ledger=ledger)
        assert sorted(r.partition_key for r in requests) == ["acme", "globex"]
        assert sorted(r.run_key for r in requests) == ["acme:2026-11-24", "globex:2026-11-24"]
        # The partitions follow the ledger, so the UI shows the same tenants.
        assert sorted(instance.get_dynamic_partitions(tenants.name)) == ["acme", "globex"]


@pytest.mark.parametrize("workspace", [None, "workspace.yaml"], ids=["pyproject", "workspace.yaml"])
def test_dagster_cli_loads_the_same_definitions(workspace: str | None) -> None:
    command = [str(Path(sys.executable).with_name("dagster")), "definitions", "validate"]
    if workspace:
        command += ["-w", workspace]
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "crm_hygiene" in done.stdout + done.stderr
