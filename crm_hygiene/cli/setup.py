"""Commands that set a tenant up: demo, tenants, train."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from crm_hygiene.cli.common import add_actor_option, add_ledger_option, ledger_url, say, store_url
from crm_hygiene.config import Settings
from crm_hygiene.ledger.tenant_names import TENANT_RULE, check_tenant_name
from crm_hygiene.ledger.types import AuditAction, AuditEntry, ChangeKind
from crm_hygiene.stores.protocol import REPLACED_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

# The ledger and the stores (SQLAlchemy, Alembic, openpyxl) are imported by the commands that
# use them: every command builds this parser, and `dedupe` needs neither.


def cmd_demo(args: argparse.Namespace) -> int:
    from crm_hygiene.demo import DemoConfig
    from crm_hygiene.demo.load import load_demo
    from crm_hygiene.ledger import Ledger
    from crm_hygiene.stores import open_store

    if args.contacts < 1 or args.companies < 1:
        say("--contacts and --companies must be at least 1")
        return 2
    check_tenant_name(args.tenant)
    settings = Settings.from_env()
    store = open_store(store_url(args), default_tenant=args.tenant)
    config = DemoConfig(contacts=args.contacts, companies=args.companies, seed=args.seed, tenant=args.tenant)
    result = load_demo(store, config, settings.truth_dir / args.tenant, progress=say)
    # Loading a demo tenant is adding it: `run --tenant` accepts it from now on.
    with Ledger.open(ledger_url(args)) as ledger:
        if ledger.tenants.add([args.tenant], by=args.actor)[args.tenant]:
            say(f"tenant {args.tenant!r} added")
        if result.replaced is not None and len(result.replaced):
            kept = ledger.record_audit(replaced_audit(args.tenant, result.replaced, actor=args.actor))
            say(
                f"the {kept} original values are kept in the ledger's audit log (crm-hygiene audit --show-pii)"
            )
    print(
        json.dumps(
            {"store": store.description, "loaded": result.loaded, "kept_existing": result.kept_existing}
        )
    )
    return 0


def replaced_audit(tenant: str, replaced: pd.DataFrame, *, actor: str) -> list[AuditEntry]:
    """One flag entry per value stored with a character replaced: before is the original."""
    from crm_hygiene.ledger.change_id import make_change_id

    entries = []
    for entity, record_id, field, original, stored in replaced[REPLACED_COLUMNS].itertuples(index=False):
        entries.append(
            AuditEntry(
                change_id=make_change_id(tenant, entity, record_id, field, stored, ChangeKind.FLAG.value),
                tenant=tenant,
                entity=entity,
                record_id=record_id,
                field=field,
                before=original,
                after=stored,
                actor=actor,
                run_id=None,
                policy_version="",
                evidence={
                    "reason": "the store cannot hold a character of the value; it was loaded with U+FFFD"
                },
                kind=ChangeKind.FLAG,
                action=AuditAction.APPLY,
                group_id=None,
                version_after=1,
                applied_at=datetime.now(UTC),
            )
        )
    return entries


def cmd_tenants(args: argparse.Namespace) -> int:
    from crm_hygiene.ledger import Ledger

    names = list(args.names or []) + list(args.add or [])
    if args.action == "add" and not names:
        say("crm-hygiene tenants add: name at least one tenant")
        return 2
    if args.action == "list" and args.names:
        say(
            f"crm-hygiene tenants: unexpected {' '.join(args.names)!r}; to add tenants: crm-hygiene tenants add NAME"
        )
        return 2
    with Ledger.open(ledger_url(args)) as ledger:
        if names:
            for name, added in ledger.tenants.add(names, by=args.actor).items():
                say(f"tenant {name!r} {'added' if added else 'already registered'}")
        print(json.dumps(ledger.tenants.names()))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Retrain the tenant's match model(s) on its normalized records and store a new version.

    Reads the warehouse read-only (the tables the last `run` wrote), so it can run beside the UI;
    the next run sees the new version and scores every pair again with it.
    """
    import duckdb

    from crm_hygiene import tables
    from crm_hygiene.ledger import Ledger
    from crm_hygiene.matching.labels import LabelScores, reviewer_labels
    from crm_hygiene.matching.model_store import live_count, train_and_store
    from crm_hygiene.matching.records import ENTITIES
    from crm_hygiene.model import Entity
    from crm_hygiene.policy.store import PolicyStore
    from crm_hygiene.warehouse import has_table

    settings = Settings.from_env()
    entities = [Entity(args.entity)] if args.entity else list(ENTITIES)
    with Ledger.open(ledger_url(args)) as ledger:
        ledger.tenants.require(args.tenant)
        policy = PolicyStore(ledger).in_force(args.tenant)
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
                if not has_table(conn, args.tenant, tables.normalized(entity)):
                    raise ValueError(
                        f"no normalized {entity.value} records for tenant {args.tenant!r} in the warehouse: "
                        f"run `crm-hygiene run --tenant {args.tenant}` first"
                    )
                frames[entity] = tables.read_normalized(conn, args.tenant, entity)
        minimum = policy.policy.merge.min_training_records
        for entity, frame in frames.items():
            if live_count(frame) < minimum:
                raise ValueError(
                    f"tenant {args.tenant!r} has {live_count(frame)} live {entity.value} records, fewer than the "
                    f"policy's merge.min_training_records ({minimum}, policy {policy.short}): too few to learn from"
                )
        result = {}
        threshold = policy.policy.merge.auto_merge_threshold
        for entity, frame in frames.items():
            labels = reviewer_labels(ledger, args.tenant, entity)
            say(
                f"training the {entity.value} model of {args.tenant!r} on {len(frame)} records "
                f"and {len(labels)} reviewer labels"
            )
            choice = train_and_store(
                ledger.registry,
                args.tenant,
                entity,
                frame,
                reason="crm-hygiene train",
                labels=labels,
                label_threshold=threshold,
            )
            assert choice.model is not None
            learnt = choice.model.metadata.get("learnt", {})
            say(f"{entity.value}: prior {choice.model.prior:.3g}, from {learnt.get('prior_from', '-')}")
            if learnt.get("warning"):
                say(f"{entity.value}: warning: {learnt['warning']}")
            scored = choice.model.metadata.get("reviewer_labels")
            if scored:
                say(f"{entity.value}: " + LabelScores(**scored).line())
            result[entity.value] = {
                "version": choice.version,
                "records": choice.model.metadata["records"],
                "prior": choice.model.prior,
                "seconds": choice.model.metadata["seconds"],
                **({"reviewer_labels": scored} if scored else {}),
            }
    print(json.dumps(result))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser(
        "demo",
        help="fill the CRM store with a realistic messy demo CRM and its ground truth; adds the tenant",
    )
    demo.add_argument("--contacts", type=int, default=5000)
    demo.add_argument("--companies", type=int, default=1000)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--tenant", default="demo", help=f"tenant name ({TENANT_RULE})")
    demo.add_argument("--store", help="store URL (default: CRM_HYGIENE_CRM_URL or the embedded SQLite file)")
    add_ledger_option(demo)
    add_actor_option(demo)
    demo.set_defaults(handler=cmd_demo)

    tenants = sub.add_parser(
        "tenants",
        help="list the tenants the nightly schedule runs (`tenants`), or add some (`tenants add NAME ...`)",
    )
    tenants.add_argument("action", nargs="?", choices=["list", "add"], default="list")
    tenants.add_argument("names", nargs="*", metavar="NAME", help=f"tenant names ({TENANT_RULE})")
    tenants.add_argument("--add", nargs="+", metavar="NAME", help="same as `tenants add NAME ...`")
    add_ledger_option(tenants)
    add_actor_option(tenants)
    tenants.set_defaults(handler=cmd_tenants)

    train = sub.add_parser(
        "train", help="retrain a tenant's match models on its normalized records and store new versions"
    )
    train.add_argument("--tenant", required=True)
    train.add_argument("--entity", choices=["contact", "company"], help="one entity type (default: both)")
    add_ledger_option(train)
    train.set_defaults(handler=cmd_train)
