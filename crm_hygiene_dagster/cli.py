"""`crm-hygiene` with the orchestration commands (`run`, `tenants`) added to the domain ones."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from crm_hygiene import cli as core_cli


def cmd_run(args: argparse.Namespace) -> int:
    from crm_hygiene_dagster.run import format_summary, run_nightly

    summary = run_nightly(args.tenant, log_level=args.log_level)
    format_summary(args.tenant, summary)
    return 0 if summary.success else 1


def cmd_tenants(args: argparse.Namespace) -> int:
    from crm_hygiene_dagster.partitions import tenants
    from crm_hygiene_dagster.run import instance_for_cli, register_tenant

    instance = instance_for_cli()
    for name in args.add or []:
        added = register_tenant(instance, name)
        core_cli._say(f"tenant {name!r} {'added' if added else 'already registered'}")
    print(json.dumps(sorted(instance.get_dynamic_partitions(tenants.name))))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser, sub = core_cli.build_parser()
    run = sub.add_parser(
        "run", help="materialize the nightly job for one tenant through Dagster, in this process"
    )
    run.add_argument("--tenant", required=True)
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    run.set_defaults(handler=cmd_run)
    tenants = sub.add_parser("tenants", help="list the tenants the nightly schedule runs, or add some")
    tenants.add_argument("--add", nargs="+", metavar="TENANT")
    tenants.set_defaults(handler=cmd_tenants)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return core_cli.run(build_parser(), argv)
