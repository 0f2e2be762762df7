"""The ledger: proposals, audit log, review queue and decisions in one SQL database.

Every write is insert-if-absent or a status update; nothing is ever deleted, so re-running a
step after a crash converges instead of duplicating.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from types import TracebackType
from typing import Any, Self

import pandas as pd
import sqlalchemy as sa

from crm_hygiene.bulk_sql import insert_ignoring
from crm_hygiene.ledger import rows
from crm_hygiene.ledger.codec import utc_now
from crm_hygiene.ledger.engine import create_ledger_engine, write_transaction
from crm_hygiene.ledger.migrate import upgrade_to_head
from crm_hygiene.ledger.registry import DedupRegistry
from crm_hygiene.ledger.schema import audit_log, decisions, review_queue
from crm_hygiene.ledger.schema import proposals as proposal_table
from crm_hygiene.ledger.tenants import TenantRegistry
from crm_hygiene.ledger.types import (
    AuditAction,
    AuditEntry,
    ChangeKind,
    Decision,
    DecisionKind,
    Proposal,
    ProposalStatus,
    ReviewItem,
    ReviewState,
)
from crm_hygiene.ledger.write_log import WriteLog, batches

# Ids per IN (...) list, well below SQLite's and psycopg2's parameter limits.
IDS_PER_QUERY = 500


class Ledger:
    """Open with `Ledger.open(url)`; one instance per process, safe to share between threads."""

    def __init__(self, engine: sa.Engine, base_engine: sa.Engine, schema: str | None) -> None:
        self._engine = engine
        self._base_engine = base_engine
        self._schema = schema

    @classmethod
    def open(cls, url: str, *, schema: str | None = None) -> Ledger:
        """Connect and bring the database to the latest schema (safe to call again and again)."""
        engine, base_engine = create_ledger_engine(url, schema)
        try:
            upgrade_to_head(engine, schema)
        except BaseException:
            base_engine.dispose()
            raise
        return cls(engine, base_engine, schema)

    @property
    def engine(self) -> sa.Engine:
        """The engine queries run through (with the schema applied), for other ledger modules."""
        return self._engine

    @property
    def registry(self) -> DedupRegistry:
        """Deduplication bookkeeping (entity ids, do-not-link pairs, match models) in this ledger."""
        return DedupRegistry(self._engine, self._schema)

    @cached_property
    def writes(self) -> WriteLog:
        """The write path's intents and bulk proposal and audit rows."""
        return WriteLog(self._engine)

    @property
    def tenants(self) -> TenantRegistry:
        """The tenants this project runs."""
        return TenantRegistry(self._engine)

    def close(self) -> None:
        self._base_engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- proposals -------------------------------------------------------------------------

    def record_proposals(self, proposals: Iterable[Proposal]) -> int:
        """Insert proposals not yet known by change_id; returns how many were new."""
        now = utc_now()
        unique = {p.change_id: rows.proposal_row(p, now) for p in proposals}
        return self.writes.record_proposal_rows(pd.DataFrame(list(unique.values())))

    def proposals(
        self,
        tenant: str,
        *,
        status: ProposalStatus | str | None = None,
        change_ids: Iterable[str] | None = None,
        kind: ChangeKind | str | None = None,
    ) -> list[Proposal]:
        query = sa.select(proposal_table).where(proposal_table.c.tenant == tenant)
        if status is not None:
            query = query.where(proposal_table.c.status == ProposalStatus(status).value)
        if kind is not None:
            query = query.where(proposal_table.c.kind == ChangeKind(kind).value)
        with self._engine.connect() as connection:
            if change_ids is None:
                result = list(connection.execute(query))
            else:
                result = [
                    row
                    for batch in batches(change_ids, IDS_PER_QUERY)
                    for row in connection.execute(query.where(proposal_table.c.change_id.in_(batch)))
                ]
        found = [rows.proposal_from_row(row) for row in result]
        return sorted(found, key=lambda p: (p.created_at, p.change_id))

    def set_status(self, change_ids: Iterable[str], status: ProposalStatus | str) -> int:
        """Move proposals to `status`; returns how many proposals matched."""
        value = ProposalStatus(status).value
        updated = 0
        with write_transaction(self._engine) as connection:
            for batch in batches(change_ids, IDS_PER_QUERY):
                statement = (
                    sa.update(proposal_table)
                    .where(proposal_table.c.change_id.in_(batch))
                    .values(status=value)
                )
                updated += connection.execute(statement).rowcount
        return updated

    # -- audit log -------------------------------------------------------------------------

    def record_audit(self, entries: Iterable[AuditEntry]) -> int:
        """Append audit entries; one already recorded (change_id, action, group_id) is skipped."""
        now = utc_now()
        unique: dict[tuple[Any, ...], dict[str, Any]] = {}
        for entry in entries:
            row = rows.audit_row(entry, now)
            unique.setdefault((row["change_id"], row["action"], row["group_id"]), row)
        return self.writes.record_audit_rows(pd.DataFrame(list(unique.values())))

    def audit_entries(
        self,
        *,
        tenant: str | None = None,
        change_id: str | None = None,
        group_id: str | None = None,
        run_id: str | None = None,
        action: AuditAction | str | None = None,
        entity: str | None = None,
        record_id: str | None = None,
    ) -> list[AuditEntry]:
        """Audit entries matching every filter given, oldest first."""
        query = sa.select(audit_log).order_by(audit_log.c.id)
        filters = {
            "tenant": tenant,
            "change_id": change_id,
            "group_id": group_id,
            "run_id": run_id,
            "entity": entity,
            "record_id": record_id,
        }
        for column, value in filters.items():
            if value is not None:
                query = query.where(audit_log.c[column] == value)
        if action is not None:
            query = query.where(audit_log.c.action == AuditAction(action).value)
        with self._engine.connect() as connection:
            return [rows.audit_from_row(row) for row in connection.execute(query)]

    def latest_audit(self, change_ids: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """Per change, the action and group of its latest audit entry: what is in effect now."""
        latest: dict[str, tuple[str, str | None]] = {}
        with self._engine.connect() as connection:
            for batch in batches(change_ids, IDS_PER_QUERY):
                newest = (
                    sa.select(sa.func.max(audit_log.c.id))
                    .where(audit_log.c.change_id.in_(batch))
                    .group_by(audit_log.c.change_id)
                )
                query = sa.select(audit_log.c.change_id, audit_log.c.action, audit_log.c.group_id).where(
                    audit_log.c.id.in_(newest)
                )
                for row in connection.execute(query):
                    latest[row.change_id] = (row.action, row.group_id or None)
        return latest

    def applied_change_ids(self, change_ids: Iterable[str]) -> set[str]:
        """The given changes whose latest audit entry is an apply, i.e. in effect now."""
        return {
            c for c, (action, _) in self.latest_audit(change_ids).items() if action == AuditAction.APPLY.value
        }

    # -- review queue and decisions ----------------------------------------------------------

    def enqueue_review(self, change_ids: Iterable[str], reason: str, *, reopen: bool = False) -> int:
        """Queue recorded proposals for a reviewer; returns how many were newly queued (or reopened).

        A change already in the queue keeps its state and reason, so re-running a step never
        reopens a decided item. With reopen=True a decided item opens again with the new reason:
        for an approved change that could not be applied (a rep edited the record since).
        """
        queued = 0
        now = utc_now()
        with write_transaction(self._engine) as connection:
            for batch in batches(dict.fromkeys(change_ids), IDS_PER_QUERY):
                known = sa.select(proposal_table.c.change_id).where(proposal_table.c.change_id.in_(batch))
                missing = set(batch) - set(connection.execute(known).scalars())
                if missing:
                    raise ValueError(
                        f"cannot queue unknown change ids (record the proposals first): {sorted(missing)}"
                    )
                source = sa.select(
                    proposal_table.c.change_id,
                    proposal_table.c.tenant,
                    sa.literal(reason, sa.Text),
                    sa.literal(ReviewState.OPEN.value, sa.String),
                    sa.literal(now, review_queue.c.queued_at.type),
                ).where(proposal_table.c.change_id.in_(batch))
                statement = (
                    insert_ignoring(connection, review_queue, ["change_id"])
                    .from_select(["change_id", "tenant", "reason", "state", "queued_at"], source)
                    .returning(review_queue.c.change_id)
                )
                queued += len(connection.execute(statement).all())
                if reopen:
                    statement = (
                        sa.update(review_queue)
                        .where(
                            review_queue.c.change_id.in_(batch),
                            review_queue.c.state == ReviewState.DECIDED.value,
                        )
                        .values(state=ReviewState.OPEN.value, reason=reason, queued_at=now)
                    )
                    queued += connection.execute(statement).rowcount
        return queued

    def review_queue(
        self, tenant: str, state: ReviewState | str | None = ReviewState.OPEN
    ) -> list[ReviewItem]:
        """Review items of a tenant in the order they were queued; state=None means all."""
        query = (
            sa.select(review_queue)
            .where(review_queue.c.tenant == tenant)
            .order_by(review_queue.c.queued_at, review_queue.c.change_id)
        )
        if state is not None:
            query = query.where(review_queue.c.state == ReviewState(state).value)
        with self._engine.connect() as connection:
            return [rows.review_item_from_row(row) for row in connection.execute(query)]

    def record_decision(
        self, change_id: str, decision: DecisionKind | str, decided_by: str, note: str | None = None
    ) -> Decision:
        """Record a reviewer's decision on a queued change; a later decision gets the next version."""
        kind = DecisionKind(decision)
        if not decided_by:
            raise ValueError(f"decision on change {change_id!r}: decided_by must name the reviewer")
        with write_transaction(self._engine) as connection:
            self._serialise_decisions(connection)
            tenant = connection.execute(
                sa.select(review_queue.c.tenant).where(review_queue.c.change_id == change_id)
            ).scalar_one_or_none()
            if tenant is None:
                raise ValueError(f"change {change_id!r} is not in the review queue")
            previous = connection.execute(
                sa.select(sa.func.count()).select_from(decisions).where(decisions.c.change_id == change_id)
            ).scalar_one()
            values = {
                "change_id": change_id,
                "tenant": tenant,
                "decision": kind.value,
                "decided_by": decided_by,
                "decided_at": utc_now(),
                "note": note,
                "version": previous + 1,
            }
            row = connection.execute(sa.insert(decisions).values(values).returning(*decisions.c)).one()
            connection.execute(
                sa.update(review_queue)
                .where(review_queue.c.change_id == change_id)
                .values(state=ReviewState.DECIDED.value)
            )
        return rows.decision_from_row(row)

    def _serialise_decisions(self, connection: sa.Connection) -> None:
        # A sensor pages decisions by id > cursor. On PostgreSQL ids come from a sequence and
        # may commit out of order, so a decision could land behind the cursor and never be
        # seen; one decision writer at a time keeps ids committed in order. (SQLite's
        # BEGIN IMMEDIATE already serialises writers.) Readers are not blocked.
        if connection.dialect.name != "postgresql":
            return
        preparer = connection.dialect.identifier_preparer
        name = preparer.quote(decisions.name)
        if self._schema:
            name = f"{preparer.quote_schema(self._schema)}.{name}"
        connection.exec_driver_sql(f"LOCK TABLE {name} IN SHARE ROW EXCLUSIVE MODE")

    def decisions_after(self, cursor: int, limit: int = 500) -> list[Decision]:
        """Up to `limit` decisions with id > cursor, in id order: a sensor's next page."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        query = sa.select(decisions).where(decisions.c.id > cursor).order_by(decisions.c.id).limit(limit)
        with self._engine.connect() as connection:
            return [rows.decision_from_row(row) for row in connection.execute(query)]

    def latest_decisions(self, change_ids: Iterable[str]) -> dict[str, Decision]:
        """The latest decision on each of the given changes that has one, by change id.

        For a step that learns from what reviewers decided on its own proposals (a rejected
        merge becomes a do-not-link pair) without paging through every tenant's decisions.
        """
        found: dict[str, Decision] = {}
        with self._engine.connect() as connection:
            for batch in batches(dict.fromkeys(change_ids), IDS_PER_QUERY):
                query = sa.select(decisions).where(decisions.c.change_id.in_(batch)).order_by(decisions.c.id)
                for row in connection.execute(query):
                    found[row.change_id] = rows.decision_from_row(row)
        return found

    # -- summary -----------------------------------------------------------------------------

    def counts(self, tenant: str) -> dict[str, Any]:
        """Proposals by status (every status present), audit entries and open review items."""
        by_status = dict.fromkeys((s.value for s in ProposalStatus), 0)
        with self._engine.connect() as connection:
            grouped = connection.execute(
                sa.select(proposal_table.c.status, sa.func.count())
                .where(proposal_table.c.tenant == tenant)
                .group_by(proposal_table.c.status)
            )
            by_status.update({status: count for status, count in grouped})
            audit_count = connection.execute(
                sa.select(sa.func.count()).select_from(audit_log).where(audit_log.c.tenant == tenant)
            ).scalar_one()
            open_items = connection.execute(
                sa.select(sa.func.count())
                .select_from(review_queue)
                .where(review_queue.c.tenant == tenant, review_queue.c.state == ReviewState.OPEN.value)
            ).scalar_one()
        return {
            "proposals": by_status,
            "proposals_total": sum(by_status.values()),
            "audit_entries": audit_count,
            "open_review_items": open_items,
        }
