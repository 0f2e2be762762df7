"""`crm-hygiene`, the installed command: every domain command plus `run`, which needs Dagster."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from crm_hygiene import cli as core_cli
from crm_hygiene.ledger.tenant_names import TENANT_RULE


def cmd_run(args: argparse.Namespace) -> int:
    from crm_hygiene_dagster.jobs.run import format_summary, run_nightly

    summary = run_nightly(
        args.tenant,
        log_level="DEBUG" if args.verbose else args.log_level,
        tracebacks=args.verbose,
        full_dedupe=args.full_dedupe,
        full=args.full,
    )
    format_summary(summary, verbose=args.verbose)
    return 0 if summary.success else 1


def build_parser() -> argparse.ArgumentParser:
    parser, sub = core_cli.build_parser()
    run = sub.add_parser(
        "run", help="run the nightly pipeline for one tenant through Dagster, in this process, with a summary"
    )
    run.add_argument(
        "--tenant", required=True, help=f"a tenant added with `crm-hygiene tenants add` ({TENANT_RULE})"
    )
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    run.add_argument(
        "--full",
        action="store_true",
        help="redo every record from the snapshot on, not only what changed since the last run "
        "(a policy change does this by itself)",
    )
    run.add_argument(
        "--full-dedupe",
        action="store_true",
        help="score every record pair, not only records new or changed since the last run",
    )
    core_cli.add_verbose_option(run)
    run.set_defaults(handler=cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return core_cli.run(build_parser(), argv)
