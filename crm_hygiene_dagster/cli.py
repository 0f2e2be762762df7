"""`crm-hygiene` with the orchestration commands (`run`, `tenants`, `train`) added to the domain ones."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from crm_hygiene import cli as core_cli


def cmd_run(args: argparse.Namespace) -> int:
    from crm_hygiene_dagster.run import format_summary, run_nightly

    summary = run_nightly(args.tenant, log_level=args.log_level, full_dedupe=args.full_dedupe)
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


def cmd_train(args: argparse.Namespace) -> int:
    """Retrain the tenant's match model(s) on its normalized records and store a new version.

    Reads the warehouse read-only (the tables the last `run` wrote), so it can run beside the UI;
    the next run sees the new version and scores every pair again with it.
    """
    from pathlib import Path

    import duckdb

    from crm_hygiene.config import Settings
    from crm_hygiene.ledger import Ledger
    from crm_hygiene.matching.tenant import ENTITIES, train_and_store
    from crm_hygiene.model import Entity
    from crm_hygiene.warehouse import has_table
    from crm_hygiene_dagster.assets.standardize import normalized_table, read_entity_table

    settings = Settings.from_env()
    entities = [Entity(args.entity)] if args.entity else list(ENTITIES)
    if not Path(settings.warehouse_path).exists():
        raise ValueError(
            f"no warehouse at {settings.warehouse_path}: run `crm-hygiene run --tenant {args.tenant}` first"
        )
    try:
        conn = duckdb.connect(settings.warehouse_path, read_only=True)
    except duckdb.Error as exc:
        raise ValueError(f"cannot read the warehouse {settings.warehouse_path}: {exc}") from exc
    with conn:
        frames = {}
        for entity in entities:
            if not has_table(conn, args.tenant, normalized_table(entity)):
                raise ValueError(
                    f"no normalized {entity.value} records for tenant {args.tenant!r} in the warehouse: "
                    f"run `crm-hygiene run --tenant {args.tenant}` first"
                )
            frames[entity] = read_entity_table(conn, args.tenant, entity, normalized=True)
    result = {}
    with Ledger.open(settings.ledger_url) as ledger:
        for entity, frame in frames.items():
            core_cli._say(f"training the {entity.value} model of {args.tenant!r} on {len(frame)} records")
            choice = train_and_store(ledger.registry, args.tenant, entity, frame, reason="crm-hygiene train")
            assert choice.model is not None
            result[entity.value] = {
                "version": choice.version,
                "records": choice.model.metadata["records"],
                "prior": choice.model.prior,
                "seconds": choice.model.metadata["seconds"],
            }
    print(json.dumps(result))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser, sub = core_cli.build_parser()
    run = sub.add_parser(
        "run", help="materialize the nightly job for one tenant through Dagster, in this process"
    )
    run.add_argument("--tenant", required=True)
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    run.add_argument(
        "--full-dedupe",
        action="store_true",
        help="score every record pair, not only records new or changed since the last run",
    )
    run.set_defaults(handler=cmd_run)
    train = sub.add_parser(
        "train", help="retrain a tenant's match models on its normalized records and store new versions"
    )
    train.add_argument("--tenant", required=True)
    train.add_argument("--entity", choices=["contact", "company"], help="one entity type (default: both)")
    train.set_defaults(handler=cmd_train)
    tenants = sub.add_parser("tenants", help="list the tenants the nightly schedule runs, or add some")
    tenants.add_argument("--add", nargs="+", metavar="TENANT")
    tenants.set_defaults(handler=cmd_tenants)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return core_cli.run(build_parser(), argv)
