"""Tenants and versioned policies: the tenant list, policy versions, assignments, run pins.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

Downgrading drops these tables and with them the policy history: back it up first.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out rather than imported from schema.py: a migration keeps creating what it created.
Timestamp = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_tenants"),
    )
    op.create_table(
        "policy_versions",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("policy_hash", sa.String(64), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "policy_hash", name="pk_policy_versions"),
    )
    op.create_table(
        "policy_assignments",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("policy_hash", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("assigned_at", Timestamp, nullable=False),
        sa.Column("assigned_by", sa.String(255), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_policy_assignments"),
    )
    op.create_index("ix_policy_assignments_tenant", "policy_assignments", ["tenant", "id"])
    op.create_table(
        "run_policies",
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("policy_hash", sa.String(64), nullable=False),
        sa.Column("pinned_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "tenant", name="pk_run_policies"),
    )


def downgrade() -> None:
    op.drop_table("run_policies")
    op.drop_index("ix_policy_assignments_tenant", table_name="policy_assignments")
    op.drop_table("policy_assignments")
    op.drop_table("policy_versions")
    op.drop_table("tenants")
