"""The ledger: proposals, audit log, review queue, decisions and dedup bookkeeping (SQLite or PostgreSQL)."""

from crm_hygiene.ledger.change_id import make_change_id
from crm_hygiene.ledger.ledger import Ledger
from crm_hygiene.ledger.registry import (
    DedupRegistry,
    EntityIdCycleError,
    StoredModel,
    drop_do_not_link,
    format_entity_id,
)
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
    "DedupRegistry",
    "EntityIdCycleError",
    "Ledger",
    "Proposal",
    "ProposalStatus",
    "ReviewItem",
    "ReviewState",
    "StoredModel",
    "drop_do_not_link",
    "format_entity_id",
    "make_change_id",
]
