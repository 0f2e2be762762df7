"""The `crm-hygiene` command: the domain commands, usable without Dagster.

The orchestration layer (crm_hygiene_dagster.cli) adds `run` and `tenants` to this parser.
"""

from __future__ import annotations

import argparse
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
    from crm_hygiene.demo_loader import load_demo

    if args.contacts < 1 or args.companies < 1:
        _say("--contacts and --companies must be at least 1")
        return 2
    settings = Settings.from_env()
    store = open_store(_store_url(args), default_tenant=args.tenant)
    config = DemoConfig(contacts=args.contacts, companies=args.companies, seed=args.seed, tenant=args.tenant)
    result = load_demo(store, config, settings.truth_dir / args.tenant, progress=_say)
    print(json.dumps({"store": store.description, "loaded": result.loaded, "kept_existing": result.kept_existing}))
    return 0


def build_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(prog="crm-hygiene", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="fill the CRM store with a realistic messy demo CRM and its ground truth")
    demo.add_argument("--contacts", type=int, default=5000)
    demo.add_argument("--companies", type=int, default=1000)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--tenant", default="demo")
    demo.add_argument("--store", help="store URL (default: CRM_HYGIENE_CRM_URL or the embedded SQLite file)")
    demo.set_defaults(handler=cmd_demo)
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
