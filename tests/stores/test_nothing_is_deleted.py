"""No statement the SQL store sends, across every operation, deletes, truncates or drops anything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from crm_hygiene.apply.audited import AuditedWriter
from crm_hygiene.ledger import ChangeKind, Ledger, Proposal
from crm_hygiene.model import Entity
from crm_hygiene.pipeline.snapshot import take_snapshot
from crm_hygiene.stores import SqlRecordStore
from tests.stores.conftest import row_counts, seed

_FORBIDDEN = ("DELETE", "TRUNCATE", "DROP")


@pytest.fixture
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    sa.event.listen(sa.Engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(sa.Engine, "before_cursor_execute", record)


def test_every_operation_sends_no_destructive_statement(tmp_path: Path, statements: list[str]) -> None:
    store = SqlRecordStore(f"sqlite:///{tmp_path / 'crm.sqlite'}")
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    # Creating the ledger runs its migrations; the only thing they drop is two indexes that
    # migration 0005 replaced (nothing reads them), never a table or a row.
    migration = [s for s in statements if s.lstrip().upper().startswith(_FORBIDDEN)]
    assert sorted(" ".join(s.split()) for s in migration) == [
        "DROP INDEX ix_audit_log_tenant",
        "DROP INDEX ix_proposals_tenant_kind_status",
    ]
    statements.clear()
    seed(store)
    start = row_counts(store)
    writer = AuditedWriter(store, ledger, run_id="r1")
    proposal = Proposal.new(
        "acme", "contact", "C1", "title", None, "CEO", ChangeKind.ENRICH, "test", {}, 0.9, "p1", "r1", 1
    )
    writer.apply([proposal])
    writer.flag("acme", Entity.CONTACT, "C3", "stale")
    merged = writer.merge("acme", Entity.COMPANY, "A1", "A2")
    writer.unmerge(merged.group_id or "")
    writer.revert_run("r1")
    take_snapshot(store, "acme")
    assert row_counts(store) == start
    assert len(statements) > 20
    destructive = [s for s in statements if s.lstrip().upper().startswith(_FORBIDDEN)]
    assert destructive == []
