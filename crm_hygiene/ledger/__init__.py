"""The ledger: proposals, audit log, review queue and decisions (SQLite or PostgreSQL)."""

from crm_hygiene.ledger.change_id import make_change_id
from crm_hygiene.ledger.ledger import Ledger
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

__all__ = [
    "AuditAction",
    "AuditEntry",
    "ChangeKind",
    "Decision",
    "DecisionKind",
    "Ledger",
    "Proposal",
    "ProposalStatus",
    "ReviewItem",
    "ReviewState",
    "make_change_id",
]
