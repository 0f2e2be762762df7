"""Indexes for the merge path: the audit log by record (a merge asks which versions of its loser
this tool's own writes explain, `apply.merges._decided_version`) and proposals by kind and
status (a merge looks for the intent an interrupted attempt recorded, `merge_intent`, among
the pending merge proposals, not among every pending standardization fix).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_audit_log_record", "audit_log", ["tenant", "entity", "record_id"])
    op.create_index("ix_proposals_tenant_kind_status", "proposals", ["tenant", "kind", "status"])


def downgrade() -> None:
    op.drop_index("ix_proposals_tenant_kind_status", table_name="proposals")
    op.drop_index("ix_audit_log_record", table_name="audit_log")
