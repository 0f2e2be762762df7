"""The write path's bookkeeping in the ledger: batches announced before the store write
(intents), closed after their audit; and the bulk reads and writes a batch needs.

`Ledger.writes` hands out a `WriteLog` bound to the ledger's engine. Rows travel as frames,
never one statement per change: a batch of a million changes costs a few hundred statements
(COPY on PostgreSQL, `bulk_sql.insert_frame`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any, TypeVar

import pandas as pd
import sqlalchemy as sa

from crm_hygiene.bulk_sql import insert_frame, insert_ignoring, update_where_in
from crm_hygiene.ledger.codec import loads, utc_now
from crm_hygiene.ledger.engine import write_transaction
from crm_hygiene.ledger.schema import (
    NO_GROUP,
    audit_log,
    proposals,
    review_queue,
    write_batches,
    write_intents,
)
from crm_hygiene.ledger.types import ReviewState

T = TypeVar("T")

OPEN = "open"
CLOSED = "closed"
# Rows per executemany: large enough to amortise round trips, small enough to bound memory.
ROWS_PER_INSERT = 5_000
# Ids per IN (...) list: below SQLite's 32,766 variables and cheap for PostgreSQL to plan.
IDS_PER_QUERY = 5_000


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class WriteLog:
    """Intents, bulk proposals and bulk audit rows of one ledger."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    # -- intents ---------------------------------------------------------------------------

    def open_batch(
        self,
        batch_id: str,
        *,
        tenant: str,
        actor: str,
        run_id: str | None,
        policy_version: str,
        action: str,
        atomic: bool,
        intents: pd.DataFrame,
    ) -> None:
        """Announce a batch: its changes (seq, change_id, group_id, old_value and new_value as
        JSON text, expected_version, evidence as JSON text or None), before the store is touched."""
        rows = pd.DataFrame(
            {
                "batch_id": batch_id,
                "seq": intents["seq"].astype("int64"),
                "change_id": intents["change_id"],
                "group_id": intents["group_id"].where(intents["group_id"].notna(), NO_GROUP),
                "old_value": intents["old_value"],
                "new_value": intents["new_value"],
                "expected_version": intents["expected_version"].astype(object),
                "evidence": intents.get("evidence"),
            }
        )
        with write_transaction(self._engine) as connection:
            connection.execute(
                sa.insert(write_batches).values(
                    batch_id=batch_id,
                    tenant=tenant,
                    actor=actor,
                    run_id=run_id,
                    policy_version=policy_version,
                    changes=len(rows),
                    action=action,
                    atomic=atomic,
                    state=OPEN,
                    created_at=utc_now(),
                )
            )
            insert_frame(connection, write_intents, rows)

    def close_batch(self, batch_id: str) -> None:
        with write_transaction(self._engine) as connection:
            connection.execute(
                sa.update(write_batches)
                .where(write_batches.c.batch_id == batch_id)
                .values(state=CLOSED, closed_at=utc_now())
            )

    def open_batches(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's batches a crash left open, oldest first."""
        query = (
            sa.select(write_batches)
            .where(write_batches.c.tenant == tenant, write_batches.c.state == OPEN)
            .order_by(write_batches.c.created_at, write_batches.c.batch_id)
        )
        with self._engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def intents(self, batch_id: str) -> pd.DataFrame:
        """A batch's changes joined with their proposals, in order."""
        query = (
            sa.select(
                write_intents.c.seq,
                write_intents.c.change_id,
                write_intents.c.group_id,
                write_intents.c.old_value,
                write_intents.c.new_value,
                write_intents.c.expected_version,
                write_intents.c.evidence.label("intent_evidence"),
                proposals.c.tenant,
                proposals.c.entity,
                proposals.c.record_id,
                proposals.c.field,
                proposals.c.kind,
                proposals.c.source,
                proposals.c.evidence,
                proposals.c.confidence,
            )
            .join(proposals, proposals.c.change_id == write_intents.c.change_id)
            .where(write_intents.c.batch_id == batch_id)
            .order_by(write_intents.c.seq)
        )
        with self._engine.connect() as connection:
            result = connection.execute(query)
            frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        frame["group_id"] = frame["group_id"].where(frame["group_id"] != NO_GROUP, None)
        return frame

    # -- proposals and audit in bulk ----------------------------------------------------------

    def record_proposal_rows(self, rows: pd.DataFrame, *, new: bool = False) -> int:
        """Insert proposal rows (the ledger's column names, values encoded) not yet known by
        change id; returns how many were new. `new`: the caller found none of them recorded."""
        return self._insert(proposals, rows, ["change_id"], new)

    def record_audit_rows(self, rows: pd.DataFrame, *, new: bool = False) -> int:
        """Append audit rows; one already recorded (change_id, action, group_id) is skipped.
        `new`: the caller found no audit entry of these changes."""
        return self._insert(audit_log, rows, ["change_id", "action", "group_id"], new)

    def _insert(self, table: sa.Table, rows: pd.DataFrame, key: list[str], new: bool) -> int:
        if new:
            # Rows known to be new go straight in (on PostgreSQL one COPY into the table, no
            # staging to skip conflicts); should another writer have recorded some meanwhile,
            # the unique key refuses the transaction and the careful insert below runs.
            # COPY runs on the driver's own cursor: its error is the driver's, not SQLAlchemy's.
            refused = (sa.exc.IntegrityError, self._engine.dialect.loaded_dbapi.IntegrityError)
            try:
                with write_transaction(self._engine) as connection:
                    return insert_frame(connection, table, rows)
            except refused:
                pass
        with write_transaction(self._engine) as connection:
            return insert_frame(connection, table, rows, conflict_key=key)

    def set_status(self, change_ids: Iterable[str], status: str) -> int:
        ids = list(change_ids)
        if not ids:
            return 0
        with write_transaction(self._engine) as connection:
            return update_where_in(connection, proposals, "change_id", ids, {"status": status})

    def latest_actions(self, change_ids: Iterable[str]) -> pd.DataFrame:
        """Per change that has an audit entry, the action and group of its latest one."""
        frames = []
        with self._engine.connect() as connection:
            for part in batches(dict.fromkeys(change_ids), IDS_PER_QUERY):
                newest = (
                    sa.select(sa.func.max(audit_log.c.id))
                    .where(audit_log.c.change_id.in_(part))
                    .group_by(audit_log.c.change_id)
                )
                query = sa.select(audit_log.c.change_id, audit_log.c.action, audit_log.c.group_id).where(
                    audit_log.c.id.in_(newest)
                )
                result = connection.execute(query)
                frames.append(pd.DataFrame(result.fetchall(), columns=["change_id", "action", "group_id"]))
        if not frames:
            return pd.DataFrame(columns=["change_id", "action", "group_id"])
        return pd.concat(frames, ignore_index=True)

    def statuses(self, change_ids: Iterable[str]) -> dict[str, str]:
        """The status of each known proposal among `change_ids`."""
        found: dict[str, str] = {}
        with self._engine.connect() as connection:
            for part in batches(dict.fromkeys(change_ids), IDS_PER_QUERY):
                query = sa.select(proposals.c.change_id, proposals.c.status).where(
                    proposals.c.change_id.in_(part)
                )
                found.update(dict(connection.execute(query).all()))
        return found

    def revert_counts(self, change_ids: Iterable[str]) -> dict[str, int]:
        """How many times each change was reverted (a re-merge after an unmerge is a new one)."""
        found: dict[str, int] = {}
        with self._engine.connect() as connection:
            for part in batches(dict.fromkeys(change_ids), IDS_PER_QUERY):
                query = (
                    sa.select(audit_log.c.change_id, sa.func.count())
                    .where(audit_log.c.change_id.in_(part), audit_log.c.action == "revert")
                    .group_by(audit_log.c.change_id)
                )
                found.update({c: int(n) for c, n in connection.execute(query).all()})
        return found

    def versions_written(self, tenant: str, entity: str, record_ids: Iterable[str]) -> pd.DataFrame:
        """The record versions this tool's own writes produced (record_id, version_after)."""
        frames = []
        with self._engine.connect() as connection:
            for part in batches(dict.fromkeys(record_ids), IDS_PER_QUERY):
                query = sa.select(audit_log.c.record_id, audit_log.c.version_after).where(
                    audit_log.c.tenant == tenant,
                    audit_log.c.entity == entity,
                    audit_log.c.record_id.in_(part),
                    audit_log.c.version_after.is_not(None),
                )
                result = connection.execute(query)
                frames.append(pd.DataFrame(result.fetchall(), columns=["record_id", "version_after"]))
        if not frames:
            return pd.DataFrame(columns=["record_id", "version_after"])
        return pd.concat(frames, ignore_index=True)

    def enqueue_review_rows(self, items: list[tuple[str, str, str]], *, reopen: bool) -> int:
        """Queue recorded proposals (change_id, tenant, reason) for a reviewer; with `reopen`, a
        decided item opens again with the new reason (an approved change that now conflicts).
        Returns how many items were newly queued or reopened."""
        now = utc_now()
        unique: dict[str, tuple[str, str]] = {}
        for change_id, tenant, reason in items:
            unique.setdefault(change_id, (tenant, reason))
        rows = [
            {"change_id": c, "tenant": t, "reason": r, "state": ReviewState.OPEN.value, "queued_at": now}
            for c, (t, r) in unique.items()
        ]
        queued = 0
        with write_transaction(self._engine) as connection:
            statement = insert_ignoring(connection, review_queue, ["change_id"]).returning(
                review_queue.c.change_id
            )
            for part in batches(rows, ROWS_PER_INSERT):
                queued += len(connection.execute(statement, part).all())
            if reopen:
                statement = (
                    sa.update(review_queue)
                    .where(
                        review_queue.c.change_id == sa.bindparam("b_change_id"),
                        review_queue.c.state == ReviewState.DECIDED.value,
                    )
                    .values(state=ReviewState.OPEN.value, reason=sa.bindparam("b_reason"), queued_at=now)
                )
                params = [{"b_change_id": r["change_id"], "b_reason": r["reason"]} for r in rows]
                for part in batches(params, ROWS_PER_INSERT):
                    queued += connection.execute(statement, part).rowcount
        return queued

    def written_since(self, tenant: str, entity: str, since: datetime) -> pd.DataFrame:
        """The values this tool wrote to the entity's records after `since` (record_id, field,
        value): audit entries, and the intents of batches still open (written, not yet audited)."""
        audited = sa.select(audit_log.c.record_id, audit_log.c.field, audit_log.c.after.label("value")).where(
            audit_log.c.tenant == tenant, audit_log.c.entity == entity, audit_log.c.applied_at > since
        )
        pending = (
            sa.select(proposals.c.record_id, proposals.c.field, write_intents.c.new_value.label("value"))
            .join(write_batches, write_batches.c.batch_id == write_intents.c.batch_id)
            .join(proposals, proposals.c.change_id == write_intents.c.change_id)
            .where(
                write_batches.c.tenant == tenant,
                write_batches.c.state == OPEN,
                proposals.c.entity == entity,
            )
        )
        with self._engine.connect() as connection:
            rows = connection.execute(sa.union_all(audited, pending)).all()
        frame = pd.DataFrame(rows, columns=["record_id", "field", "value"])
        frame["value"] = [None if v is None else loads(v) for v in frame["value"]]
        return frame.drop_duplicates()
