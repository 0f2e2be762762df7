"""`crm-hygiene policy check|set|show|history|diff|rollback|default`: the tenant's rules, versioned."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from crm_hygiene.cli.common import add_actor_option, add_ledger_option, ledger_url, say
from crm_hygiene.policy.load import canonical_yaml, default_policy_text, load_policy_file

if TYPE_CHECKING:
    from crm_hygiene.ledger import Ledger
    from crm_hygiene.policy.store import PolicyStore


def cmd_check(args: argparse.Namespace) -> int:
    loaded = load_policy_file(args.file)
    say(f"{args.file}: valid policy")
    print(json.dumps({"file": args.file, "policy_version": loaded.hash}))
    return 0


def cmd_default(args: argparse.Namespace) -> int:
    print(default_policy_text(), end="")
    return 0


def _store(args: argparse.Namespace) -> tuple[Ledger, PolicyStore]:
    # Imported here: every command builds this parser, and the ledger loads SQLAlchemy.
    from crm_hygiene.ledger import Ledger
    from crm_hygiene.policy.store import PolicyStore

    ledger = Ledger.open(ledger_url(args))
    ledger.tenants.require(args.tenant)
    return ledger, PolicyStore(ledger)


def cmd_set(args: argparse.Namespace) -> int:
    loaded = load_policy_file(args.file)
    ledger, store = _store(args)
    with ledger:
        version, changed = store.set(args.tenant, loaded, by=args.actor, note=args.note)
    if changed:
        say(f"tenant {args.tenant!r}: policy {version.short} in force from the next run")
    else:
        say(f"tenant {args.tenant!r}: policy {version.short} is already in force; nothing changed")
    print(json.dumps({"tenant": args.tenant, "policy_version": version.hash, "changed": changed}))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    ledger, store = _store(args)
    with ledger:
        version = store.version(args.tenant, args.version) if args.version else store.in_force(args.tenant)
    say(
        f"tenant {args.tenant!r}: policy {version.hash} (stored {version.created_at:%Y-%m-%d %H:%M} UTC by {version.created_by})"
    )
    print(canonical_yaml(version.policy) if args.resolved else version.text, end="")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    ledger, store = _store(args)
    with ledger:
        history = store.history(args.tenant)
    for item in history:
        print(
            json.dumps(
                {
                    "seq": item.seq,
                    "policy_version": item.hash,
                    "action": item.action,
                    "at": item.assigned_at.isoformat(),
                    "by": item.assigned_by,
                    "note": item.note,
                    "in_force": item is history[-1],
                }
            )
        )
    if not history:
        say(f"tenant {args.tenant!r} has no policy history: it runs on the shipped default")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    ledger, store = _store(args)
    with ledger:
        text = store.diff(args.tenant, args.old, args.new)
    print(text or "(no difference)\n", end="")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    ledger, store = _store(args)
    with ledger:
        version = store.rollback(args.tenant, to=args.to, by=args.actor)
    say(f"tenant {args.tenant!r}: policy {version.short} back in force from the next run")
    print(json.dumps({"tenant": args.tenant, "policy_version": version.hash}))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    policy = sub.add_parser(
        "policy", help="check, set, show and roll back a tenant's policy (see docs/policy.md)"
    )
    verbs = policy.add_subparsers(dest="policy_command", required=True)

    check = verbs.add_parser("check", help="validate a policy file; prints its version hash")
    check.add_argument("file")
    check.set_defaults(handler=cmd_check)

    default = verbs.add_parser("default", help="print the shipped default policy, fully commented")
    default.set_defaults(handler=cmd_default)

    def tenant_verb(name: str, help_text: str, handler) -> argparse.ArgumentParser:
        parser = verbs.add_parser(name, help=help_text)
        parser.add_argument("--tenant", required=True)
        add_ledger_option(parser)
        parser.set_defaults(handler=handler)
        return parser

    set_ = tenant_verb("set", "validate a policy file and put it in force for a tenant", cmd_set)
    set_.add_argument("file")
    set_.add_argument("--note", default="", help="why, for the history")
    add_actor_option(set_)
    show = tenant_verb("show", "print the policy in force (or --version HASH) as it was written", cmd_show)
    show.add_argument("--version", help="a policy hash or its first 7+ characters")
    show.add_argument("--resolved", action="store_true", help="every rule spelled out, defaults included")
    tenant_verb("history", "every version put in force, oldest first, as JSON lines", cmd_history)
    diff = tenant_verb(
        "diff", "what changed between two versions (default: the previous and the current)", cmd_diff
    )
    diff.add_argument("old", nargs="?", help="older version hash (prefix)")
    diff.add_argument("new", nargs="?", help="newer version hash (prefix)")
    rollback = tenant_verb("rollback", "put the previous version (or --to HASH) back in force", cmd_rollback)
    rollback.add_argument("--to", help="a policy hash or its first 7+ characters")
    add_actor_option(rollback)
