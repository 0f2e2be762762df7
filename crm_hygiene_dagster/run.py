"""Materialize the nightly job for one tenant in this process, with progress and a summary."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from crm_hygiene_dagster.definitions import defs
from crm_hygiene_dagster.jobs import nightly_hygiene
from crm_hygiene_dagster.partitions import tenants


@dataclass
class RunSummary:
    run_id: str
    success: bool
    materialized: dict[str, dict[str, object]] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    check_metadata: dict[str, dict[str, object]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def instance_for_cli() -> dg.DagsterInstance:
    """The persistent instance under DAGSTER_HOME when set (so the UI sees CLI runs), else a throwaway one."""
    home = os.environ.get("DAGSTER_HOME")
    if home:
        Path(home).mkdir(parents=True, exist_ok=True)
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def register_tenant(instance: dg.DagsterInstance, tenant: str) -> bool:
    """Add the tenant as a partition; False if it was already there."""
    if instance.has_dynamic_partition(tenants.name, tenant):
        return False
    instance.add_dynamic_partitions(tenants.name, [tenant])
    return True


def _plain(value: object) -> object:
    return getattr(value, "value", value)


def run_nightly(
    tenant: str,
    *,
    instance: dg.DagsterInstance | None = None,
    resources: dict[str, object] | None = None,
    log_level: str = "INFO",
    full_dedupe: bool = False,
) -> RunSummary:
    """Run `nightly_hygiene` for one tenant; never raises for a failed step, reports it instead.

    `full_dedupe` scores every record pair instead of only new and changed records.
    """
    instance = instance or instance_for_cli()
    register_tenant(instance, tenant)
    job = defs.resolve_job_def(nightly_hygiene.name)
    run_config: dict[str, object] = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    if full_dedupe:
        run_config["ops"] = {"candidate_pairs": {"config": {"full": True}}}
    kwargs: dict[str, object] = {}
    if resources:
        kwargs["resources"] = resources
    result = job.execute_in_process(
        instance=instance, partition_key=tenant, raise_on_error=False, run_config=run_config, **kwargs
    )
    summary = RunSummary(result.run_id, result.success)
    for event in result.all_events:
        if event.is_step_materialization:
            mat = event.event_specific_data.materialization
            summary.materialized[mat.asset_key.to_user_string()] = {
                k: _plain(v) for k, v in mat.metadata.items()
            }
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            summary.checks[name] = evaluation.passed
            summary.check_metadata[name] = {k: _plain(v) for k, v in evaluation.metadata.items()}
        elif event.is_step_failure:
            error = event.step_failure_data.error
            summary.failures.append(f"{event.step_key}: {error.message.strip() if error else 'failed'}")
    return summary


def format_summary(tenant: str, summary: RunSummary, echo: Callable[[str], None] = print) -> None:
    echo(
        f"\nnightly_hygiene for tenant {tenant!r}: {'succeeded' if summary.success else 'FAILED'} (run {summary.run_id})"
    )
    for asset, metadata in summary.materialized.items():
        echo(f"  {asset}")
        for key, value in metadata.items():
            echo(f"    {key}: {value}")
    for check, passed in summary.checks.items():
        echo(f"  check {check}: {'passed' if passed else 'FAILED'}")
    for failure in summary.failures:
        echo(f"  failure {failure}")
