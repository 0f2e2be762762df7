"""The ledger: proposals, audit log, review queue, decisions and dedup bookkeeping (SQLite or PostgreSQL).

Exports are imported on first use (`crm_hygiene.lazy`): importing a light submodule such as
`crm_hygiene.ledger.types` does not load SQLAlchemy and Alembic.
"""

from typing import TYPE_CHECKING

from crm_hygiene.lazy import lazy_exports

if TYPE_CHECKING:
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

_EXPORTS = {
    "make_change_id": "change_id",
    "Ledger": "ledger",
    **dict.fromkeys(
        ["DedupRegistry", "EntityIdCycleError", "StoredModel", "drop_do_not_link", "format_entity_id"],
        "registry",
    ),
    **dict.fromkeys(
        [
            "AuditAction",
            "AuditEntry",
            "ChangeKind",
            "Decision",
            "DecisionKind",
            "Proposal",
            "ProposalStatus",
            "ReviewItem",
            "ReviewState",
        ],
        "types",
    ),
}
__getattr__ = lazy_exports(__name__, _EXPORTS)

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
