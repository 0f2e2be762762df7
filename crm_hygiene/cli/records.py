"""Commands that change or show records by hand: flag, merge, unmerge, revert, audit.

Each goes through the audited writer, so a person's change is audited and undoable exactly
like the pipeline's; each says what it did and how to undo it, and refuses what cannot be done.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from crm_hygiene.cli.common import add_ledger_option, add_write_options, ledger_url, say, store_url
from crm_hygiene.model import Entity

if TYPE_CHECKING:
    from crm_hygiene.apply.audited import AuditedWriter, WriteSummary


def _writer(args: argparse.Namespace) -> AuditedWriter:
    # Imported here: every command builds this parser, and these load SQLAlchemy and the stores.
    from crm_hygiene.apply.audited import AuditedWriter
    from crm_hygiene.ledger import Ledger
    from crm_hygiene.stores import open_store

    ledger = Ledger.open(ledger_url(args))
    if getattr(args, "tenant", None):
        ledger.tenants.require(args.tenant)
    return AuditedWriter(open_store(store_url(args)), ledger, actor=args.actor, policy_version="manual")


def _print_summary(summary: WriteSummary) -> int:
    print(json.dumps({"group_id": summary.group_id, "change_ids": summary.applied, **summary.counts()}))
    return 0 if not (summary.conflicts or summary.rejected) else 1


def cmd_flag(args: argparse.Namespace) -> int:
    summary = _writer(args).flag(args.tenant, Entity(args.entity), args.id, args.code, reason=args.reason)
    if summary.applied:
        say(
            f"flagged {args.entity} {args.id} {args.code!r} ({len(summary.applied)} changes, one group); "
            f"undo with: crm-hygiene revert --change {summary.applied[0]}"
        )
    return _print_summary(summary)


def cmd_merge(args: argparse.Namespace) -> int:
    summary = _writer(args).merge(args.tenant, Entity(args.entity), args.survivor, args.loser)
    say(
        f"merged {args.entity} {args.loser} into {args.survivor}; undo with: crm-hygiene unmerge {summary.group_id}"
    )
    return _print_summary(summary)


def cmd_unmerge(args: argparse.Namespace) -> int:
    summary = _writer(args).unmerge(args.merge_id)
    say(f"undid merge {args.merge_id}: {len(summary.applied)} writes put back")
    return _print_summary(summary)


def cmd_revert(args: argparse.Namespace) -> int:
    writer = _writer(args)
    if args.change:
        summary, what = writer.revert_change(args.change), f"change {args.change}"
    elif args.group:
        summary, what = writer.revert_group(args.group), f"group {args.group}"
    else:
        summary, what = writer.revert_run(args.run), f"run {args.run}"
    say(
        f"reverted {what}: {len(summary.applied)} writes put back"
        + (f", {len(summary.conflicts)} left as they are (edited since)" if summary.conflicts else "")
    )
    return _print_summary(summary)


def cmd_audit(args: argparse.Namespace) -> int:
    from crm_hygiene.ledger import Ledger
    from crm_hygiene.pii import mask_field_value, mask_nested, mask_pii
    from crm_hygiene.policy.store import PolicyStore

    with Ledger.open(ledger_url(args)) as ledger:
        entries = ledger.audit_entries(tenant=args.tenant, run_id=args.run, group_id=args.group)[
            -args.limit :
        ]
        store = PolicyStore(ledger)
        # The PII fields of each tenant's policy in force: names too, where a policy lists them.
        pii = {t: set(store.policy_for(t).pii.fields) for t in {e.tenant for e in entries}}
    for entry in entries:
        row = asdict(entry)
        if not args.show_pii:
            mask = mask_field_value if entry.field in pii[entry.tenant] else mask_pii
            row["before"], row["after"] = mask(row["before"]), mask(row["after"])
            # Evidence repeats values: a merge's field_values, a source's raw answer.
            row["evidence"] = mask_nested(row["evidence"], pii[entry.tenant])
        print(json.dumps(row, default=str, ensure_ascii=False))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    flag = sub.add_parser("flag", help="flag one record (audited; undo with revert --change)")
    flag.add_argument("--tenant", required=True)
    flag.add_argument("--entity", required=True, choices=["contact", "company", "employment"])
    flag.add_argument("--id", required=True)
    flag.add_argument("--code", required=True, help="flag code, e.g. stale or bad_phone")
    flag.add_argument("--reason", default="")
    add_write_options(flag)
    flag.set_defaults(handler=cmd_flag)

    merge = sub.add_parser("merge", help="merge two records (audited, all-or-nothing, reversible)")
    merge.add_argument("--tenant", required=True)
    merge.add_argument("--entity", required=True, choices=["contact", "company"])
    merge.add_argument("--survivor", required=True)
    merge.add_argument("--loser", required=True)
    add_write_options(merge)
    merge.set_defaults(handler=cmd_merge)

    unmerge = sub.add_parser("unmerge", help="undo a merge exactly, by the merge id the merge printed")
    unmerge.add_argument("merge_id")
    add_write_options(unmerge)
    unmerge.set_defaults(handler=cmd_unmerge)

    revert = sub.add_parser(
        "revert",
        help="undo one applied change (with its merge or flag), one group, or everything a run applied",
    )
    target = revert.add_mutually_exclusive_group(required=True)
    target.add_argument("--change", help="change id (a change of a merge or flag undoes the whole of it)")
    target.add_argument("--group", help="group id, as `flag` and `merge` print it")
    target.add_argument("--run", help="run id")
    add_write_options(revert)
    revert.set_defaults(handler=cmd_revert)

    audit = sub.add_parser("audit", help="print audit entries as JSON lines (emails and phones masked)")
    audit.add_argument("--tenant")
    audit.add_argument("--run")
    audit.add_argument("--group", help="merge id or other group id")
    audit.add_argument("--limit", type=int, default=100)
    audit.add_argument("--show-pii", action="store_true", help="print emails and phone numbers unmasked")
    add_ledger_option(audit)
    audit.set_defaults(handler=cmd_audit)
