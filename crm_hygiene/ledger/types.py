"""What the ledger holds: proposals, audit entries, review items and decisions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from crm_hygiene.ledger.change_id import make_change_id


class ChangeKind(StrEnum):
    STANDARDIZE = "standardize"
    ENRICH = "enrich"
    MERGE = "merge"
    FLAG = "flag"
    RELATIONSHIP = "relationship"
    # Undo entries: the audit trail of putting a value back.
    REVERT = "revert"


class ProposalStatus(StrEnum):
    PROPOSED = "proposed"
    APPLIED = "applied"
    QUEUED = "queued"
    CONFLICT = "conflict"
    REJECTED = "rejected"
    REVERTED = "reverted"


class DecisionKind(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class AuditAction(StrEnum):
    APPLY = "apply"
    REVERT = "revert"


class ReviewState(StrEnum):
    OPEN = "open"
    DECIDED = "decided"


def _require_aware(value: datetime | None, name: str, where: str) -> None:
    # A naive timestamp is ambiguous across machines; the ledger speaks UTC only.
    if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
        raise ValueError(f"{where}: {name} must be a timezone-aware datetime, got {value!r}")


def _coerce(enum: type[StrEnum], value: object, where: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise ValueError(f"{where}: {value!r} is not a valid {enum.__name__} (one of {allowed})") from None


@dataclass(frozen=True)
class Proposal:
    """A change the pipeline wants to make to one field of one record; nothing is written first."""

    change_id: str
    tenant: str
    entity: str
    record_id: str
    field: str
    old_value: Any
    new_value: Any
    kind: ChangeKind
    source: str
    evidence: dict[str, Any]
    confidence: float
    policy_version: str
    run_id: str | None
    expected_version: int | None
    status: ProposalStatus = ProposalStatus.PROPOSED
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        where = f"proposal for {self.entity}/{self.record_id} field {self.field!r}"
        for name in ("tenant", "entity", "record_id", "field", "change_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{where}: {name} must be a non-empty string, got {value!r}")
        confidence = self.confidence
        if isinstance(confidence, bool) or not isinstance(confidence, int | float) or math.isnan(confidence):
            raise ValueError(f"{where}: confidence must be a number in [0, 1], got {confidence!r}")
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"{where}: confidence must be in [0, 1], got {confidence!r}")
        if not isinstance(self.evidence, dict):
            raise ValueError(f"{where}: evidence must be a dict, got {type(self.evidence).__name__}")
        # Frozen, so normalise through object.__setattr__: callers may pass plain strings.
        _require_aware(self.created_at, "created_at", where)
        object.__setattr__(self, "kind", _coerce(ChangeKind, self.kind, where))
        object.__setattr__(self, "status", _coerce(ProposalStatus, self.status, where))

    @classmethod
    def new(
        cls,
        tenant: str,
        entity: str,
        record_id: str,
        field: str,
        old_value: Any,
        new_value: Any,
        kind: ChangeKind | str,
        source: str,
        evidence: dict[str, Any],
        confidence: float,
        policy_version: str,
        run_id: str | None = None,
        expected_version: int | None = None,
    ) -> Proposal:
        """A fresh proposal whose change_id is derived from what it changes."""
        where = f"proposal for {entity}/{record_id} field {field!r}"
        kind = _coerce(ChangeKind, kind, where)
        change_id = make_change_id(tenant, entity, record_id, field, new_value, kind)
        return cls(
            change_id=change_id,
            tenant=tenant,
            entity=entity,
            record_id=record_id,
            field=field,
            old_value=old_value,
            new_value=new_value,
            kind=kind,
            source=source,
            evidence=evidence,
            confidence=confidence,
            policy_version=policy_version,
            run_id=run_id,
            expected_version=expected_version,
        )


@dataclass(frozen=True)
class AuditEntry:
    """One write to the CRM (or its undo), with everything needed to explain and revert it.

    group_id ties entries written together (a merge, a run's revert); "" and None both mean
    "no group".
    """

    change_id: str
    tenant: str
    entity: str
    record_id: str
    field: str
    before: Any
    after: Any
    actor: str
    run_id: str | None
    policy_version: str
    evidence: dict[str, Any]
    kind: ChangeKind
    action: AuditAction
    group_id: str | None
    version_after: int | None
    applied_at: datetime | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        where = f"audit entry {self.change_id!r} for {self.entity}/{self.record_id} field {self.field!r}"
        for name in ("change_id", "tenant", "entity", "record_id", "field", "actor"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{where}: {name} must be a non-empty string, got {value!r}")
        if not isinstance(self.evidence, dict):
            raise ValueError(f"{where}: evidence must be a dict, got {type(self.evidence).__name__}")
        _require_aware(self.applied_at, "applied_at", where)
        object.__setattr__(self, "kind", _coerce(ChangeKind, self.kind, where))
        object.__setattr__(self, "action", _coerce(AuditAction, self.action, where))
        object.__setattr__(self, "group_id", self.group_id or None)


@dataclass(frozen=True)
class ReviewItem:
    """A proposal waiting for (or having had) a human reviewer's decision."""

    change_id: str
    tenant: str
    reason: str
    state: ReviewState
    queued_at: datetime


@dataclass(frozen=True)
class Decision:
    """A reviewer's verdict on one change; version counts the decisions on that change so far."""

    id: int
    change_id: str
    tenant: str
    decision: DecisionKind
    decided_by: str
    decided_at: datetime
    note: str | None
    version: int
