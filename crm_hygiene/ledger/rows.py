"""Conversion between the ledger's dataclasses and table rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from crm_hygiene.ledger.codec import dumps, loads
from crm_hygiene.ledger.schema import NO_GROUP
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


def proposal_row(proposal: Proposal, now: datetime) -> dict[str, Any]:
    return {
        "change_id": proposal.change_id,
        "tenant": proposal.tenant,
        "entity": proposal.entity,
        "record_id": proposal.record_id,
        "field": proposal.field,
        "old_value": dumps(proposal.old_value),
        "new_value": dumps(proposal.new_value),
        "kind": proposal.kind.value,
        "source": proposal.source,
        "evidence": dumps(proposal.evidence),
        "confidence": float(proposal.confidence),
        "policy_version": proposal.policy_version,
        "run_id": proposal.run_id,
        "expected_version": proposal.expected_version,
        "status": proposal.status.value,
        "created_at": proposal.created_at or now,
    }


def proposal_from_row(row: sa.Row[Any]) -> Proposal:
    return Proposal(
        change_id=row.change_id,
        tenant=row.tenant,
        entity=row.entity,
        record_id=row.record_id,
        field=row.field,
        old_value=loads(row.old_value),
        new_value=loads(row.new_value),
        kind=ChangeKind(row.kind),
        source=row.source,
        evidence=loads(row.evidence),
        confidence=row.confidence,
        policy_version=row.policy_version,
        run_id=row.run_id,
        expected_version=row.expected_version,
        status=ProposalStatus(row.status),
        created_at=row.created_at,
    )


def audit_row(entry: AuditEntry, now: datetime) -> dict[str, Any]:
    return {
        "change_id": entry.change_id,
        "tenant": entry.tenant,
        "entity": entry.entity,
        "record_id": entry.record_id,
        "field": entry.field,
        "before": dumps(entry.before),
        "after": dumps(entry.after),
        "actor": entry.actor,
        "run_id": entry.run_id,
        "policy_version": entry.policy_version,
        "evidence": dumps(entry.evidence),
        "kind": entry.kind.value,
        "action": entry.action.value,
        "group_id": entry.group_id or NO_GROUP,
        "version_after": entry.version_after,
        "applied_at": entry.applied_at or now,
    }


def audit_from_row(row: sa.Row[Any]) -> AuditEntry:
    return AuditEntry(
        change_id=row.change_id,
        tenant=row.tenant,
        entity=row.entity,
        record_id=row.record_id,
        field=row.field,
        before=loads(row.before),
        after=loads(row.after),
        actor=row.actor,
        run_id=row.run_id,
        policy_version=row.policy_version,
        evidence=loads(row.evidence),
        kind=ChangeKind(row.kind),
        action=AuditAction(row.action),
        group_id=row.group_id or None,
        version_after=row.version_after,
        applied_at=row.applied_at,
        id=row.id,
    )


def review_item_from_row(row: sa.Row[Any]) -> ReviewItem:
    return ReviewItem(
        change_id=row.change_id,
        tenant=row.tenant,
        reason=row.reason,
        state=ReviewState(row.state),
        queued_at=row.queued_at,
    )


def decision_from_row(row: sa.Row[Any]) -> Decision:
    return Decision(
        id=row.id,
        change_id=row.change_id,
        tenant=row.tenant,
        decision=DecisionKind(row.decision),
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        note=row.note,
        version=row.version,
    )
