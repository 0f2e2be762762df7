"""The `crm-hygiene` command: the domain commands, usable without Dagster.

The orchestration layer (crm_hygiene_dagster.cli) adds `run`, `tenants` and `train` to this parser.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Sequence

from crm_hygiene.config import Settings
from crm_hygiene.stores import StoreError, open_store

Handler = Callable[[argparse.Namespace], int]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _store_url(args: argparse.Namespace) -> str:
    return args.store or Settings.from_env().crm_url


def cmd_demo(args: argparse.Namespace) -> int:
    from crm_hygiene.demo import DemoConfig
    from crm_hygiene.demo.load import load_demo

    if args.contacts < 1 or args.companies < 1:
        _say("--contacts and --companies must be at least 1")
        return 2
    settings = Settings.from_env()
    store = open_store(_store_url(args), default_tenant=args.tenant)
    config = DemoConfig(contacts=args.contacts, companies=args.companies, seed=args.seed, tenant=args.tenant)
    result = load_demo(store, config, settings.truth_dir / args.tenant, progress=_say)
    print(
        json.dumps(
            {"store": store.description, "loaded": result.loaded, "kept_existing": result.kept_existing}
        )
    )
    return 0


def _writer(args: argparse.Namespace):
    from crm_hygiene.apply.audited import AuditedWriter
    from crm_hygiene.ledger import Ledger

    settings = Settings.from_env()
    store = open_store(_store_url(args))
    ledger = Ledger.open(args.ledger or settings.ledger_url)
    return AuditedWriter(store, ledger, actor=args.actor, policy_version="manual")


def _print_summary(summary) -> int:
    print(json.dumps({"group_id": summary.group_id, **summary.counts()}))
    return 0 if not (summary.conflicts or summary.rejected) else 1


def cmd_flag(args: argparse.Namespace) -> int:
    from crm_hygiene.model import Entity

    writer = _writer(args)
    return _print_summary(
        writer.flag(args.tenant, Entity(args.entity), args.id, args.code, reason=args.reason)
    )


def cmd_merge(args: argparse.Namespace) -> int:
    from crm_hygiene.model import Entity

    writer = _writer(args)
    summary = writer.merge(args.tenant, Entity(args.entity), args.survivor, args.loser)
    _say(
        f"merged {args.entity} {args.loser} into {args.survivor}; undo with: crm-hygiene unmerge {summary.group_id}"
    )
    return _print_summary(summary)


def cmd_unmerge(args: argparse.Namespace) -> int:
    return _print_summary(_writer(args).unmerge(args.merge_id))


def cmd_revert(args: argparse.Namespace) -> int:
    writer = _writer(args)
    summary = writer.revert_change(args.change) if args.change else writer.revert_run(args.run)
    return _print_summary(summary)


def cmd_audit(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from crm_hygiene.ledger import Ledger
    from crm_hygiene.pii import mask_pii

    ledger = Ledger.open(args.ledger or Settings.from_env().ledger_url)
    entries = ledger.audit_entries(tenant=args.tenant, run_id=args.run, group_id=args.group)
    for entry in entries[-args.limit :]:
        row = asdict(entry)
        if not args.show_pii:
            row["before"], row["after"] = mask_pii(row["before"]), mask_pii(row["after"])
        print(json.dumps(row, default=str, ensure_ascii=False))
    return 0


def cmd_dedupe(args: argparse.Namespace) -> int:
    import logging

    from crm_hygiene.matching.files import dedupe_file

    # Splink's own log would interleave with our progress lines; its errors still show.
    logging.getLogger("splink").setLevel(logging.ERROR)
    options = {} if args.threshold is None else {"threshold": args.threshold}
    result = dedupe_file(
        args.input,
        args.entity,
        mapping_path=args.mapping,
        output=args.output,
        truth_column=args.truth,
        progress=_say,
        **options,
    )
    print(json.dumps(result.summary()))
    return 0


def _add_write_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", help="store URL (default: CRM_HYGIENE_CRM_URL or the embedded SQLite file)"
    )
    parser.add_argument(
        "--ledger", help="ledger URL (default: CRM_HYGIENE_LEDGER_URL or the embedded SQLite file)"
    )
    parser.add_argument(
        "--actor", default=f"cli:{getpass.getuser()}", help="who is writing, for the audit log"
    )


def build_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(prog="crm-hygiene", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo", help="fill the CRM store with a realistic messy demo CRM and its ground truth"
    )
    demo.add_argument("--contacts", type=int, default=5000)
    demo.add_argument("--companies", type=int, default=1000)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--tenant", default="demo")
    demo.add_argument("--store", help="store URL (default: CRM_HYGIENE_CRM_URL or the embedded SQLite file)")
    demo.set_defaults(handler=cmd_demo)

    entity_choices = ["contact", "company"]
    flag = sub.add_parser("flag", help="flag one record (audited; undo with revert --change)")
    flag.add_argument("--tenant", required=True)
    flag.add_argument("--entity", required=True, choices=["contact", "company", "employment"])
    flag.add_argument("--id", required=True)
    flag.add_argument("--code", required=True, help="flag code, e.g. stale or bad_phone")
    flag.add_argument("--reason", default="")
    _add_write_options(flag)
    flag.set_defaults(handler=cmd_flag)

    merge = sub.add_parser("merge", help="merge two records (audited, all-or-nothing, reversible)")
    merge.add_argument("--tenant", required=True)
    merge.add_argument("--entity", required=True, choices=entity_choices)
    merge.add_argument("--survivor", required=True)
    merge.add_argument("--loser", required=True)
    _add_write_options(merge)
    merge.set_defaults(handler=cmd_merge)

    unmerge = sub.add_parser("unmerge", help="undo a merge exactly, by the merge id the merge printed")
    unmerge.add_argument("merge_id")
    _add_write_options(unmerge)
    unmerge.set_defaults(handler=cmd_unmerge)

    revert = sub.add_parser("revert", help="undo one applied change or everything a run applied")
    target = revert.add_mutually_exclusive_group(required=True)
    target.add_argument("--change", help="change id")
    target.add_argument("--run", help="run id")
    _add_write_options(revert)
    revert.set_defaults(handler=cmd_revert)

    audit = sub.add_parser("audit", help="print audit entries as JSON lines (emails and phones masked)")
    audit.add_argument("--tenant")
    audit.add_argument("--run")
    audit.add_argument("--group", help="merge id or other group id")
    audit.add_argument("--limit", type=int, default=100)
    audit.add_argument("--show-pii", action="store_true", help="print emails and phone numbers unmasked")
    audit.add_argument(
        "--ledger", help="ledger URL (default: CRM_HYGIENE_LEDGER_URL or the embedded SQLite file)"
    )
    audit.set_defaults(handler=cmd_audit)

    dedupe = sub.add_parser(
        "dedupe", help="find duplicate records in a CSV or Parquet file of any schema (see docs/dedupe.md)"
    )
    dedupe.add_argument("input", help="a .csv, .tsv or .parquet file, one record per row")
    dedupe.add_argument("--entity", required=True, choices=entity_choices, help="what one row is")
    dedupe.add_argument("--mapping", help="YAML file mapping the file's columns to canonical fields")
    dedupe.add_argument(
        "--output",
        help="where to write the rows plus cluster_id and match_probability (default: INPUT.deduped.EXT)",
    )
    dedupe.add_argument(
        "--truth", metavar="COLUMN", help="column of true entity labels: print pairwise precision, recall, F1"
    )
    dedupe.add_argument(
        "--threshold", type=float, help="match probability at which two records join a cluster (default 0.99)"
    )
    dedupe.set_defaults(handler=cmd_dedupe)
    return parser, sub


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except (StoreError, ValueError) as exc:
        _say(f"crm-hygiene {args.command}: {exc}")
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser, _ = build_parser()
    return run(parser, argv)


if __name__ == "__main__":
    raise SystemExit(main())
