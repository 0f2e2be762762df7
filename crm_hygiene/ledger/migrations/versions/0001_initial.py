"""The ledger's first tables: proposals, audit log, review queue, decisions.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out here rather than imported from schema.py: a migration must keep creating what it
# created on the day it was written, whatever schema.py says later.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "proposals",
        sa.Column("change_id", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(255), nullable=False),
        sa.Column("field", sa.String(255), nullable=False),
        sa.Column("old_value", sa.Text, nullable=False),
        sa.Column("new_value", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(255), nullable=True),
        sa.Column("expected_version", sa.BigInteger, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("change_id", name="pk_proposals"),
    )
    op.create_index("ix_proposals_tenant_status", "proposals", ["tenant", "status"])

    op.create_table(
        "audit_log",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("change_id", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(255), nullable=False),
        sa.Column("field", sa.String(255), nullable=False),
        sa.Column("before", sa.Text, nullable=False),
        sa.Column("after", sa.Text, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("run_id", sa.String(255), nullable=True),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("group_id", sa.String(255), nullable=False, server_default=""),
        sa.Column("version_after", sa.BigInteger, nullable=True),
        sa.Column("applied_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.UniqueConstraint("change_id", "action", "group_id", name="uq_audit_log_change_id_action_group_id"),
    )
    op.create_index("ix_audit_log_tenant", "audit_log", ["tenant"])
    op.create_index("ix_audit_log_run_id", "audit_log", ["run_id"])
    op.create_index("ix_audit_log_group_id", "audit_log", ["group_id"])

    op.create_table(
        "review_queue",
        sa.Column("change_id", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("queued_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("change_id", name="pk_review_queue"),
        sa.ForeignKeyConstraint(
            ["change_id"], ["proposals.change_id"], name="fk_review_queue_change_id_proposals"
        ),
    )
    op.create_index("ix_review_queue_tenant_state", "review_queue", ["tenant", "state"])

    op.create_table(
        "decisions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("change_id", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(255), nullable=False),
        sa.Column("decided_at", Timestamp, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
        sa.UniqueConstraint("change_id", "version", name="uq_decisions_change_id_version"),
        sa.ForeignKeyConstraint(
            ["change_id"], ["review_queue.change_id"], name="fk_decisions_change_id_review_queue"
        ),
    )


def downgrade() -> None:
    # The ledger only moves forward: going back would drop audit history.
    raise NotImplementedError("ledger migrations are not reversible")
