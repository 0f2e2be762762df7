"""Nothing is deleted: not by the code, not by any statement the ledger sends."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import event

import crm_hygiene.ledger
from crm_hygiene.ledger import Ledger, Proposal, ProposalStatus

PACKAGE_DIR = Path(crm_hygiene.ledger.__file__).parent
FORBIDDEN = re.compile(r"\bdelete\s+from\b|\.delete\(|\bdrop\s+table\b|\bdrop_table\b|\btruncate\b", re.I)


def _runtime_source(path: Path) -> str:
    # A migration's downgrade() is an operator's explicit step back (0002 drops its own
    # tables); it never runs on open() or in a pipeline, so only what precedes it is scanned.
    text = path.read_text()
    if path.parent.name == "versions":
        text = text.split("\ndef downgrade(", 1)[0]
    return text


def test_ledger_source_has_no_delete_or_drop() -> None:
    sources = sorted(PACKAGE_DIR.rglob("*.py"))
    assert len(sources) >= 8, sources
    offending = [str(path) for path in sources if FORBIDDEN.search(_runtime_source(path))]
    assert offending == []


def test_no_statement_ever_deletes_or_drops(ledger: Ledger, make_proposal: Callable[..., Proposal]) -> None:
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.lstrip().upper())

    event.listen(ledger.engine, "before_cursor_execute", record)
    try:
        proposal = make_proposal()
        ledger.record_proposals([proposal, proposal])
        ledger.set_status([proposal.change_id], "queued")
        ledger.enqueue_review([proposal.change_id], "low confidence")
        ledger.record_decision(proposal.change_id, "reject", "revops@acme")
        ledger.set_status([proposal.change_id], "rejected")
    finally:
        event.remove(ledger.engine, "before_cursor_execute", record)
    assert statements, "the listener saw no statements"
    assert not [s for s in statements if s.startswith(("DELETE", "DROP", "TRUNCATE"))]
    assert [p.status for p in ledger.proposals("acme")] == [ProposalStatus.REJECTED]
