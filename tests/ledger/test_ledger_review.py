"""Review queue and decisions: queued once, decided with increasing versions, paged by a sensor."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from crm_hygiene.ledger import Decision, DecisionKind, Ledger, Proposal, ReviewState


@pytest.fixture
def queued(ledger: Ledger, make_proposal: Callable[..., Proposal]) -> list[Proposal]:
    proposals = [make_proposal(f"c-{i}", confidence=0.6) for i in range(3)]
    ledger.record_proposals(proposals)
    assert ledger.enqueue_review([p.change_id for p in proposals], "confidence below 0.9") == 3
    return proposals


def test_enqueue_is_idempotent_and_lists_open_items(ledger: Ledger, queued: list[Proposal]) -> None:
    ids = [p.change_id for p in queued]
    assert ledger.enqueue_review(ids, "another reason") == 0
    items = ledger.review_queue("acme")
    assert {item.change_id for item in items} == set(ids)
    assert {item.reason for item in items} == {"confidence below 0.9"}
    assert all(item.state is ReviewState.OPEN and item.tenant == "acme" for item in items)
    assert all(item.queued_at.utcoffset().total_seconds() == 0 for item in items)
    assert ledger.review_queue("globex") == []
    assert ledger.counts("acme")["open_review_items"] == 3


def test_enqueue_refuses_unrecorded_changes(ledger: Ledger, queued: list[Proposal]) -> None:
    with pytest.raises(ValueError, match="no-such-change"):
        ledger.enqueue_review([queued[0].change_id, "no-such-change"], "low confidence")
    assert len(ledger.review_queue("acme")) == 3


def test_decisions_close_the_item_and_count_versions(ledger: Ledger, queued: list[Proposal]) -> None:
    change_id = queued[0].change_id
    first = ledger.record_decision(change_id, "approve", "revops@acme", note="looks right")
    assert first.decision is DecisionKind.APPROVE
    assert (first.version, first.tenant, first.note) == (1, "acme", "looks right")
    assert first.decided_at.utcoffset().total_seconds() == 0

    assert change_id not in {item.change_id for item in ledger.review_queue("acme")}
    decided = ledger.review_queue("acme", state="decided")
    assert [(item.change_id, item.state) for item in decided] == [(change_id, ReviewState.DECIDED)]
    assert len(ledger.review_queue("acme", state=None)) == 3
    assert ledger.counts("acme")["open_review_items"] == 2

    second = ledger.record_decision(change_id, DecisionKind.REJECT, "lead@acme")
    other = ledger.record_decision(queued[1].change_id, "approve", "revops@acme")
    assert (second.version, second.decision, second.id > first.id) == (2, DecisionKind.REJECT, True)
    assert other.version == 1


def test_requeueing_a_decided_change_keeps_it_decided(ledger: Ledger, queued: list[Proposal]) -> None:
    ledger.record_decision(queued[0].change_id, "approve", "revops@acme")
    assert ledger.enqueue_review([queued[0].change_id], "confidence below 0.9") == 0
    assert queued[0].change_id not in {item.change_id for item in ledger.review_queue("acme")}


def test_reopen_puts_a_decided_change_back_with_the_new_reason(
    ledger: Ledger, queued: list[Proposal]
) -> None:
    first = ledger.record_decision(queued[0].change_id, "approve", "revops@acme")
    reason = "conflict: record edited by a rep since the snapshot"
    ids = [queued[0].change_id, queued[1].change_id]
    # Only the decided one reopens; the open one is already where it should be.
    assert ledger.enqueue_review(ids, reason, reopen=True) == 1
    assert ledger.enqueue_review(ids, reason, reopen=True) == 0
    reopened = {item.change_id: item for item in ledger.review_queue("acme")}[queued[0].change_id]
    assert (reopened.state, reopened.reason) == (ReviewState.OPEN, reason)
    assert reopened.queued_at >= first.decided_at
    second = ledger.record_decision(queued[0].change_id, "reject", "revops@acme")
    assert (second.version, second.id > first.id) == (2, True)


def test_decision_on_unknown_change_names_it(ledger: Ledger, queued: list[Proposal]) -> None:
    with pytest.raises(ValueError, match="'no-such-change' is not in the review queue"):
        ledger.record_decision("no-such-change", "approve", "revops@acme")
    assert ledger.decisions_after(0) == []


def test_decision_on_recorded_but_unqueued_change_is_refused(
    ledger: Ledger, make_proposal: Callable[..., Proposal]
) -> None:
    proposal = make_proposal()
    ledger.record_proposals([proposal])
    with pytest.raises(ValueError, match=f"{proposal.change_id}"):
        ledger.record_decision(proposal.change_id, "approve", "revops@acme")


def test_decision_kind_and_reviewer_are_validated(ledger: Ledger, queued: list[Proposal]) -> None:
    with pytest.raises(ValueError, match="'maybe' is not a valid DecisionKind"):
        ledger.record_decision(queued[0].change_id, "maybe", "revops@acme")
    with pytest.raises(ValueError, match="decided_by"):
        ledger.record_decision(queued[0].change_id, "approve", "")
    assert ledger.decisions_after(0) == []


def test_cursor_paging_returns_every_decision_once_in_order(ledger: Ledger, queued: list[Proposal]) -> None:
    made = [
        ledger.record_decision(queued[i % 3].change_id, "approve" if i % 2 else "reject", "revops@acme")
        for i in range(7)
    ]
    pages: list[list[Decision]] = []
    cursor = 0
    while page := ledger.decisions_after(cursor, limit=3):
        pages.append(page)
        cursor = page[-1].id
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [d for page in pages for d in page] == made
    assert ledger.decisions_after(made[2].id, limit=2) == made[3:5]
    assert [d.version for d in made if d.change_id == queued[0].change_id] == [1, 2, 3]
    with pytest.raises(ValueError, match="limit"):
        ledger.decisions_after(0, limit=0)
