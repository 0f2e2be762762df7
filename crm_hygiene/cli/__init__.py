"""The `crm-hygiene` command: every domain command, usable without Dagster.

The Dagster layer (jobs/cli.py, installed as crm_hygiene_dagster.jobs.cli) adds `run` to this
parser; its `main` is the installed entry point.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from crm_hygiene.cli import dedupe, policy, records, setup
from crm_hygiene.cli.common import say
from crm_hygiene.pii import mask_pii, masked_error
from crm_hygiene.stores.protocol import StoreError

Handler = Callable[[argparse.Namespace], int]

__all__ = ["add_verbose_option", "build_parser", "main", "run", "say"]


def build_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(prog="crm-hygiene", description=__doc__.splitlines()[0])
    add_verbose_option(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    setup.add_commands(sub)
    records.add_commands(sub)
    policy.add_commands(sub)
    dedupe.add_commands(sub)
    for command in sub.choices.values():
        add_verbose_option(command)
    return parser, sub


def add_verbose_option(parser: argparse.ArgumentParser) -> None:
    """--verbose before or after the command; SUPPRESS keeps a later parser from resetting it."""
    parser.add_argument(
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="full detail: tracebacks on errors, every metadata entry",
    )


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    args = parser.parse_args(argv)
    args.verbose = getattr(args, "verbose", False)
    handler: Handler = args.handler
    if not args.verbose:
        # Library warnings (Splink's training notes, for one) would bury the summary; the
        # same facts are in the run's metadata, and --verbose shows them.
        logging.getLogger("splink").setLevel(logging.ERROR)
    try:
        return handler(args)
    except (StoreError, ValueError) as exc:
        if args.verbose:
            masked = masked_error(exc)
            if masked is None:
                raise
            raise masked.with_traceback(exc.__traceback__) from None
        # The terminal is not privileged: an e-mail or phone in the message (an id typed as
        # one, a database's own words) is masked like everywhere else.
        say(f"crm-hygiene {args.command}: {mask_pii(str(exc))}")
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser, _ = build_parser()
    return run(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
