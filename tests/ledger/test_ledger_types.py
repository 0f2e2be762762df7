"""Proposals and audit entries refuse values that would poison the ledger, naming the record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from crm_hygiene.ledger import (
    AuditAction,
    AuditEntry,
    ChangeKind,
    Proposal,
    ProposalStatus,
    make_change_id,
)


def test_new_derives_change_id_from_what_changes(make_proposal: Callable[..., Proposal]) -> None:
    proposal = make_proposal("c-7", "email", "ada@example.com")
    expected = make_change_id("acme", "contact", "c-7", "email", "ada@example.com", "standardize")
    assert proposal.change_id == expected
    assert proposal.status is ProposalStatus.PROPOSED
    assert proposal.kind is ChangeKind.STANDARDIZE
    assert proposal.created_at is None


def test_old_value_source_and_confidence_do_not_change_the_id(make_proposal: Callable[..., Proposal]) -> None:
    first = make_proposal(old_value="x", source="a", confidence=0.5, run_id="r1")
    second = make_proposal(old_value="y", source="b", confidence=0.9, run_id="r2")
    assert first.change_id == second.change_id


@pytest.mark.parametrize("confidence", [-0.01, 1.01, float("nan"), "high", True, None])
def test_confidence_outside_zero_to_one_names_record_and_field(
    make_proposal: Callable[..., Proposal], confidence: object
) -> None:
    with pytest.raises(ValueError, match=r"contact/c-9 field 'phone'.*confidence"):
        make_proposal("c-9", "phone", "+14155550100", confidence=confidence)


@pytest.mark.parametrize("confidence", [0, 0.0, 1, 1.0, 0.5])
def test_confidence_bounds_are_inclusive(make_proposal: Callable[..., Proposal], confidence: float) -> None:
    assert make_proposal(confidence=confidence).confidence == confidence


@pytest.mark.parametrize("empty", ["tenant", "entity", "record_id", "field"])
def test_empty_identifiers_are_rejected_by_name(make_proposal: Callable[..., Proposal], empty: str) -> None:
    arguments = {"record_id": "c-9", "field": "phone", "tenant": "acme", "entity": "contact", empty: ""}
    with pytest.raises(ValueError, match=rf"{empty} must be a non-empty string") as raised:
        make_proposal(**arguments)
    assert "proposal for" in str(raised.value)


def test_non_string_record_id_is_rejected(make_proposal: Callable[..., Proposal]) -> None:
    # An int id would hash differently from the same id read back as text.
    with pytest.raises(ValueError, match="record_id must be a non-empty string"):
        make_proposal(record_id=42)


def test_unknown_kind_is_rejected_with_the_allowed_kinds(make_proposal: Callable[..., Proposal]) -> None:
    with pytest.raises(ValueError, match=r"contact/c-1 field 'email'.*'rewrite'.*standardize"):
        make_proposal(kind="rewrite")


def test_evidence_must_be_a_dict(make_proposal: Callable[..., Proposal]) -> None:
    with pytest.raises(ValueError, match="evidence must be a dict"):
        make_proposal(evidence=["not", "a", "dict"])


def test_naive_created_at_is_rejected(make_proposal: Callable[..., Proposal]) -> None:
    proposal = make_proposal()
    with pytest.raises(ValueError, match="created_at must be a timezone-aware"):
        Proposal(**{**proposal.__dict__, "created_at": datetime(2024, 1, 1)})


def test_audit_entry_normalises_enums_and_empty_group(make_audit: Callable[..., AuditEntry]) -> None:
    entry = make_audit(action="revert", group_id="", kind="revert")
    assert entry.action is AuditAction.REVERT
    assert entry.kind is ChangeKind.REVERT
    assert entry.group_id is None


def test_audit_entry_rejects_unknown_action_and_missing_actor(make_audit: Callable[..., AuditEntry]) -> None:
    with pytest.raises(ValueError, match="'undo' is not a valid AuditAction"):
        make_audit(action="undo")
    with pytest.raises(ValueError, match=r"contact/c-1 field 'email'.*actor"):
        make_audit(actor="")
