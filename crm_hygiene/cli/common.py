"""What every command shares: messages on stderr, the store and ledger a command writes to."""

from __future__ import annotations

import argparse
import getpass
import sys

from crm_hygiene.config import Settings


def say(message: str) -> None:
    """A progress or status line for the person at the terminal (stdout stays machine-readable)."""
    print(message, file=sys.stderr, flush=True)


def store_url(args: argparse.Namespace) -> str:
    return getattr(args, "store", None) or Settings.from_env().crm_url


def ledger_url(args: argparse.Namespace) -> str:
    return getattr(args, "ledger", None) or Settings.from_env().ledger_url


def add_ledger_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ledger", help="ledger URL (default: CRM_HYGIENE_LEDGER_URL or the embedded SQLite file)"
    )


def add_actor_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--actor", default=f"cli:{getpass.getuser()}", help="who is acting, for the audit log"
    )


def add_write_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", help="store URL (default: CRM_HYGIENE_CRM_URL or the embedded SQLite file)"
    )
    add_ledger_option(parser)
    add_actor_option(parser)
