"""The write path's intents: a batch of changes is recorded before the store write and closed
after its audit, so a rerun completes what a crash interrupted (`apply.batch`).

Two indexes every batch paid for and nothing reads go: proposals by (tenant, kind, status),
made for looking up an interrupted merge's proposals, which the intents replace; and the
audit log by tenant alone, which its index by (tenant, entity, record_id) already covers.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Spelled out here rather than imported from schema.py: a migration must keep creating what it
# created on the day it was written, whatever schema.py says later.
UtcDateTime = sa.DateTime(timezone=True)
NO_GROUP = ""

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "write_batches",
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("run_id", sa.String(255), nullable=True),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("changes", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("atomic", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("closed_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("batch_id", name="pk_write_batches"),
    )
    op.create_index("ix_write_batches_tenant_state", "write_batches", ["tenant", "state"])
    op.create_table(
        "write_intents",
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("change_id", sa.String(64), nullable=False),
        sa.Column("group_id", sa.String(255), nullable=False, server_default=NO_GROUP),
        sa.Column("old_value", sa.Text, nullable=False),
        sa.Column("new_value", sa.Text, nullable=False),
        sa.Column("expected_version", sa.BigInteger, nullable=True),
        sa.Column("evidence", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("batch_id", "seq", name="pk_write_intents"),
    )

    op.drop_index("ix_proposals_tenant_kind_status", table_name="proposals")
    op.drop_index("ix_audit_log_tenant", table_name="audit_log")


def downgrade() -> None:
    op.create_index("ix_audit_log_tenant", "audit_log", ["tenant"])
    op.create_index("ix_proposals_tenant_kind_status", "proposals", ["tenant", "kind", "status"])
    op.drop_table("write_intents")
    op.drop_index("ix_write_batches_tenant_state", table_name="write_batches")
    op.drop_table("write_batches")
