"""Proposals: recorded once per change id, read back exactly, moved between statuses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import event

from crm_hygiene.ledger import Ledger, Proposal, ProposalStatus
from crm_hygiene.ledger.codec import dumps


def test_recording_twice_writes_once(ledger: Ledger, make_proposal: Callable[..., Proposal]) -> None:
    batch = [make_proposal("c-1"), make_proposal("c-2"), make_proposal("c-3")]
    assert ledger.record_proposals(batch) == 3
    assert ledger.record_proposals(batch) == 0
    assert ledger.record_proposals([*batch, make_proposal("c-4")]) == 1
    assert ledger.counts("acme")["proposals"]["proposed"] == 4


def test_duplicates_within_one_batch_count_once(
    ledger: Ledger, make_proposal: Callable[..., Proposal]
) -> None:
    assert ledger.record_proposals([make_proposal("c-1"), make_proposal("c-1")]) == 1
    assert len(ledger.proposals("acme")) == 1


def test_empty_batch_records_nothing(ledger: Ledger) -> None:
    assert ledger.record_proposals([]) == 0
    assert ledger.counts("acme")["proposals_total"] == 0


def test_values_and_evidence_round_trip_exactly(
    ledger: Ledger, make_proposal: Callable[..., Proposal]
) -> None:
    to_empty = make_proposal("c-1", "title", "", old_value=None)
    to_none = make_proposal("c-2", "title", None, old_value="")
    numeric = make_proposal(
        "c-3", "employees", 120, old_value=12, evidence={"providers": ["a", "b"], "score": 0.8}, kind="enrich"
    )
    ledger.record_proposals([to_empty, to_none, numeric])
    stored = {p.record_id: p for p in ledger.proposals("acme")}
    for original in (to_empty, to_none, numeric):
        read = stored[original.record_id]
        assert read.created_at is not None and read.created_at.tzinfo is not None
        assert read.created_at.utcoffset().total_seconds() == 0
        # Everything but the timestamp the ledger filled in comes back as given.
        assert read == Proposal(**{**original.__dict__, "created_at": read.created_at})
    assert stored["c-1"].new_value == "" and stored["c-1"].old_value is None
    assert stored["c-2"].new_value is None and stored["c-2"].old_value == ""
    assert stored["c-3"].new_value == 120 and stored["c-3"].evidence["providers"] == ["a", "b"]


def test_given_created_at_is_kept_in_utc(ledger: Ledger, make_proposal: Callable[..., Proposal]) -> None:
    created = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    proposal = Proposal(**{**make_proposal().__dict__, "created_at": created})
    ledger.record_proposals([proposal])
    assert ledger.proposals("acme")[0].created_at == created


def test_filters_by_tenant_status_and_change_ids(
    ledger: Ledger, make_proposal: Callable[..., Proposal]
) -> None:
    acme = [make_proposal(f"c-{i}") for i in range(5)]
    globex = make_proposal("c-0", tenant="globex")
    ledger.record_proposals([*acme, globex])
    assert ledger.set_status([acme[0].change_id, acme[1].change_id], ProposalStatus.APPLIED) == 2

    assert {p.record_id for p in ledger.proposals("acme")} == {f"c-{i}" for i in range(5)}
    assert [p.record_id for p in ledger.proposals("globex")] == ["c-0"]
    assert {p.record_id for p in ledger.proposals("acme", status="applied")} == {"c-0", "c-1"}
    picked = ledger.proposals("acme", change_ids=[acme[2].change_id, globex.change_id, "unknown"])
    assert [p.change_id for p in picked] == [acme[2].change_id]
    picked_applied = ledger.proposals(
        "acme", status="applied", change_ids=[acme[0].change_id, acme[2].change_id]
    )
    assert [p.change_id for p in picked_applied] == [acme[0].change_id]


def test_recording_again_never_resets_status(ledger: Ledger, make_proposal: Callable[..., Proposal]) -> None:
    proposal = make_proposal()
    ledger.record_proposals([proposal])
    ledger.set_status([proposal.change_id], "applied")
    assert ledger.record_proposals([proposal]) == 0
    assert ledger.proposals("acme")[0].status is ProposalStatus.APPLIED


def test_set_status_counts_matches_and_updates_counts(
    ledger: Ledger, make_proposal: Callable[..., Proposal]
) -> None:
    batch = [make_proposal(f"c-{i}") for i in range(4)]
    ledger.record_proposals(batch)
    assert ledger.set_status([batch[0].change_id, "unknown"], "conflict") == 1
    assert ledger.set_status([p.change_id for p in batch[1:]], ProposalStatus.QUEUED) == 3
    counts = ledger.counts("acme")
    assert counts["proposals"] == {
        "proposed": 0,
        "applied": 0,
        "queued": 3,
        "conflict": 1,
        "rejected": 0,
        "reverted": 0,
    }
    assert counts["proposals_total"] == 4


def test_bulk_insert_of_20k_is_set_based(ledger: Ledger, make_proposal: Callable[..., Proposal]) -> None:
    batch = [make_proposal(f"c-{i}", "email", f"person{i}@example.com") for i in range(20_000)]
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(ledger.engine, "before_cursor_execute", count)
    try:
        assert ledger.record_proposals(iter(batch)) == 20_000
        inserts = sum(statement.lstrip().upper().startswith("INSERT") for statement in statements)
        assert ledger.record_proposals(batch) == 0
    finally:
        event.remove(ledger.engine, "before_cursor_execute", count)
    # Multi-row statements, not one round trip per proposal.
    assert 1 <= inserts <= 100
    assert ledger.counts("acme")["proposals_total"] == 20_000
    sample = [batch[i].change_id for i in (0, 9_999, 19_999)]
    assert {p.new_value for p in ledger.proposals("acme", change_ids=sample)} == {
        "person0@example.com",
        "person9999@example.com",
        "person19999@example.com",
    }
    assert len(ledger.proposals("acme", change_ids=[p.change_id for p in batch[:1_234]])) == 1_234


def test_rows_believed_new_that_another_writer_recorded_meanwhile_are_skipped(
    ledger: Ledger, make_proposal: Callable[..., Proposal]
) -> None:
    # A batch inserts the proposals it found unknown without looking for conflicts; one that
    # another writer recorded in between must neither fail the batch nor be written twice.
    first, second = make_proposal("c-1"), make_proposal("c-2")
    ledger.record_proposals([first])
    rows = pd.DataFrame(
        [
            {
                "change_id": p.change_id,
                "tenant": p.tenant,
                "entity": p.entity,
                "record_id": p.record_id,
                "field": p.field,
                "old_value": dumps(p.old_value),
                "new_value": dumps(p.new_value),
                "kind": str(p.kind),
                "source": p.source,
                "evidence": dumps(p.evidence),
                "confidence": p.confidence,
                "policy_version": p.policy_version,
                "run_id": p.run_id,
                "expected_version": p.expected_version,
                "status": ProposalStatus.PROPOSED.value,
                "created_at": datetime.now(UTC),
            }
            for p in (first, second)
        ]
    )
    ledger.set_status([first.change_id], ProposalStatus.APPLIED)
    assert ledger.writes.record_proposal_rows(rows, new=True) == 1
    statuses = ledger.writes.statuses([first.change_id, second.change_id])
    assert statuses == {first.change_id: "applied", second.change_id: "proposed"}
    assert ledger.writes.record_proposal_rows(rows, new=True) == 0
