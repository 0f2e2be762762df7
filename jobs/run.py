"""Materialize the nightly job for one tenant in this process, with progress and a summary."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from crm_hygiene.config import Settings
from crm_hygiene.ledger import Ledger
from crm_hygiene.pii import mask_pii
from crm_hygiene.policy.store import PolicyStore
from crm_hygiene_dagster.assets.factory import STEP_PEAK_RSS_MB
from crm_hygiene_dagster.assets.partitions import sync_tenant_partitions
from crm_hygiene_dagster.jobs.definitions import defs
from crm_hygiene_dagster.jobs.nightly import nightly_hygiene
from crm_hygiene_dagster.jobs.stale_runs import fail_dead_runs, worker_tags

# The summary names this many of the slowest steps; `--verbose` lists every step's time.
SLOWEST_STEPS = 3


@dataclass
class RunSummary:
    run_id: str
    success: bool
    tenant: str = ""
    seconds: float = 0.0
    materialized: dict[str, dict[str, object]] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    check_metadata: dict[str, dict[str, object]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    open_review_items: int | None = None
    policy_version: str | None = None
    # Wall seconds per step (asset), from the instance's step statistics.
    step_seconds: dict[str, float] = field(default_factory=dict)

    def value(self, asset: str, key: str, default: int = 0) -> int:
        found = self.materialized.get(asset, {}).get(key, default)
        return int(found) if isinstance(found, int | float) else default

    def headline(self) -> list[str]:
        """The short summary a RevOps lead reads: records, changes, merges, what waits for review."""
        snap = "crm_snapshot"
        records = ", ".join(
            f"{self.value(snap, f'{t}.rows'):,} {t}" for t in ("contacts", "companies", "employment")
        )
        unkeyed = sum(self.value(snap, f"{t}.unkeyed_rows") for t in ("contacts", "companies", "employment"))
        malformed = sum(
            self.value(snap, f"{t}.malformed_rows") for t in ("contacts", "companies", "employment")
        )
        held = {
            t: reason
            for t in ("contacts", "companies", "employment")
            if isinstance(reason := self.materialized.get(snap, {}).get(f"{t}.held"), str)
        }
        merged = self.value("applied_merges", "merged")
        conflicts = self.value("applied_merges", "conflict")
        lines = [
            f"nightly_hygiene for tenant {self.tenant!r}: {'succeeded' if self.success else 'FAILED'} "
            f"in {self.seconds:.0f} s (run {self.run_id})",
        ]
        if self.policy_version:
            lines.append(f"  policy          {self.policy_version[:12]}")
        mode = self.materialized.get(snap, {}).get("mode")
        if isinstance(mode, str):
            changed = sum(
                sum(v for k, v in counts.items() if k != "removed")
                for t in ("contacts", "companies", "employment")
                if isinstance(counts := self.materialized[snap].get(f"{t}.changes"), dict)
            )
            lines.append(
                f"  run             {mode}"
                + ("" if mode.startswith("full") else f" ({changed:,} records new or changed)")
            )
        if snap in self.materialized:
            lines.append(
                f"  records         {records}"
                + (f" ({malformed:,} malformed, kept and flagged" if malformed else "")
                + (f"; {unkeyed:,} without an id of their own left out" if unkeyed else "")
                + (")" if malformed else "")
            )
        # One line per table the run could not read and held back: the file, the line, why.
        lines.extend(
            f"  held            {table}: nothing written to it or merged through it this run; {reason}"
            for table, reason in held.items()
        )
        if "standardization_proposals" in self.materialized:
            lines.append(
                f"  standardization {self.value('standardization_proposals', 'proposals'):,} fixes proposed"
            )
        if "applied_merges" in self.materialized:
            lines.append(
                f"  merges          {merged:,} applied automatically, "
                f"{self.value('applied_merges', 'queued_for_review'):,} sent to review"
                + (f", {conflicts:,} conflicts with edits made since the snapshot" if conflicts else "")
                + (
                    f", {waiting:,} held until a table reads again"
                    if (waiting := self.value("applied_merges", "held"))
                    else ""
                )
            )
        if self.open_review_items is not None:
            lines.append(f"  review queue    {self.open_review_items:,} items waiting for a person")
        failed = [name for name, ok in self.checks.items() if not ok]
        lines.append(
            f"  checks          {len(self.checks) - len(failed)} passed"
            + (f", FAILED: {', '.join(failed)}" if failed else "")
        )
        slowest = sorted(self.step_seconds.items(), key=lambda kv: -kv[1])[:SLOWEST_STEPS]
        if slowest:
            lines.append("  slowest steps   " + ", ".join(f"{name} {sec:.0f} s" for name, sec in slowest))
        lines.extend(f"  failure         {failure}" for failure in self.failures)
        return lines


def instance_for_cli() -> dg.DagsterInstance:
    """The persistent instance under DAGSTER_HOME when set (so the UI sees CLI runs), else a throwaway one."""
    home = os.environ.get("DAGSTER_HOME")
    if home:
        Path(home).mkdir(parents=True, exist_ok=True)
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def failure_message(error: object) -> str:
    """The user's error behind Dagster's wrapper ("Error occurred while executing op ..."): one line.

    The first error of the chain that is not Dagster's: a store's "cannot read contacts.csv:
    ..." rather than the pandas error it was raised from."""
    while getattr(error, "cause", None) is not None and str(getattr(error, "cls_name", "")).startswith(
        "Dagster"
    ):
        error = error.cause  # type: ignore[attr-defined]
    message = (getattr(error, "message", "") or "").strip()
    if not message:
        return "failed"
    # SerializableErrorInfo messages read "module.ErrorClass: text"; the text is what a person needs.
    first = message.splitlines()[0]
    name = getattr(error, "cls_name", None)
    text = (
        first.split(": ", 1)[1]
        if name and first.split(": ", 1)[0].endswith(name) and ": " in first
        else first
    )
    # Masked at the source (`assets.factory.timed`); again here for an error raised elsewhere.
    return str(mask_pii(text))


def _step_name(step_key: str) -> str:
    """A step as the UI names it: an asset's check step "a_a_check" reads "a:check"."""
    return re.sub(r"^(\w+?)_\1_", r"\1:", step_key)


def _plain(value: object) -> object:
    return getattr(value, "value", value)


def run_nightly(
    tenant: str,
    *,
    instance: dg.DagsterInstance | None = None,
    resources: dict[str, object] | None = None,
    ledger_url: str | None = None,
    log_level: str = "INFO",
    tracebacks: bool = True,
    full_dedupe: bool = False,
    full: bool = False,
) -> RunSummary:
    """Run `nightly_hygiene` for one registered tenant; never raises for a failed step, reports it.

    Raises `UnknownTenantError` (a ValueError) for a tenant the ledger does not list.
    `full` redoes every record from the snapshot on instead of only what changed since the
    previous run (`pipeline.incremental`); `full_dedupe` scores every record pair only.
    Without `tracebacks`, a failed step is logged without its stack trace (`jobs.console`).
    """

    def open_ledger() -> Ledger:
        # The run's own ledger resource when given, so a test's or deployment's ledger is the one asked.
        given = (resources or {}).get("ledger")
        if given is not None and hasattr(given, "open"):
            return given.open()
        return Ledger.open(ledger_url or Settings.from_env().ledger_url)

    with open_ledger() as book:
        book.tenants.require(tenant)
        names = book.tenants.names()
    instance = instance or instance_for_cli()
    sync_tenant_partitions(instance, names)
    job = defs.resolve_job_def(nightly_hygiene.name)
    run_config: dict[str, object] = {
        "loggers": {"console": {"config": {"log_level": log_level, "tracebacks": tracebacks}}}
    }
    ops: dict[str, object] = {}
    if full or full_dedupe:
        ops["candidate_pairs"] = {"config": {"full": True}}
    if full:
        ops["crm_snapshot"] = {"config": {"full": True}}
    if ops:
        run_config["ops"] = ops
    kwargs: dict[str, object] = {}
    if resources:
        kwargs["resources"] = resources
    fail_dead_runs(instance, job.name, lambda message: print(f"warning: {message}", file=sys.stderr))
    started = time.monotonic()
    result = job.execute_in_process(
        instance=instance,
        partition_key=tenant,
        raise_on_error=False,
        run_config=run_config,
        tags=worker_tags(),
        **kwargs,
    )
    summary = RunSummary(result.run_id, result.success, tenant=tenant, seconds=time.monotonic() - started)
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
            summary.failures.append(f"{event.step_key}: {failure_message(event.step_failure_data.error)}")
    summary.step_seconds = {
        _step_name(stats.step_key): stats.end_time - stats.start_time
        for stats in instance.get_run_step_stats(result.run_id)
        if stats.start_time is not None and stats.end_time is not None
    }
    with open_ledger() as book:
        summary.open_review_items = int(book.counts(tenant)["open_review_items"])
        pinned = PolicyStore(book).pinned(tenant, result.run_id)
        summary.policy_version = pinned
    return summary


def format_summary(
    summary: RunSummary, echo: Callable[[str], None] = print, *, verbose: bool = False
) -> None:
    """The short summary; with `verbose`, every asset's and check's metadata after it."""
    if verbose:
        for asset, metadata in summary.materialized.items():
            echo(f"{asset}")
            for key, value in metadata.items():
                echo(f"    {key}: {value}")
        for check, metadata in summary.check_metadata.items():
            echo(f"check {check}: {'passed' if summary.checks[check] else 'FAILED'}")
            for key, value in metadata.items():
                echo(f"    {key}: {value}")
        echo("steps (wall seconds)")
        for step, seconds in summary.step_seconds.items():
            echo(f"    {step}: {seconds:.1f}")
        peaks = {
            **{a: m.get(STEP_PEAK_RSS_MB) for a, m in summary.materialized.items()},
            **{c: m.get(STEP_PEAK_RSS_MB) for c, m in summary.check_metadata.items()},
        }
        if any(isinstance(v, int) for v in peaks.values()):
            echo("peak memory per step (MB)")
            for step, peak in peaks.items():
                if isinstance(peak, int):
                    echo(f"    {step}: {peak}")
        echo("")
    for line in summary.headline():
        echo(line)
    if not verbose:
        echo(
            f"  details         crm-hygiene run --tenant {summary.tenant} --verbose, or the Dagster UI (make ui)"
        )
