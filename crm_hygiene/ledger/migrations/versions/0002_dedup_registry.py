"""Deduplication bookkeeping: entity ids and their assignments, do-not-link pairs, match models.

Revision ID: 0002
Revises: 0001
Create Date: 2025-06-01

Unlike 0001 this one can be downgraded, so a deploy of the matching code can be rolled back
without touching the audit history of 0001. The downgrade discards what these tables hold
(entity-id lineage, reviewers' do-not-link decisions, trained models): back them up first.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out here rather than imported from schema.py: a migration must keep creating what it
# created on the day it was written, whatever schema.py says later.
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "entities",
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("entity_type", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("created_run_id", sa.String(255), nullable=True),
        sa.Column("successor_id", sa.String(64), nullable=True),
        sa.Column("retired_at", Timestamp, nullable=True),
        sa.Column("retired_run_id", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "entity_type", "entity_id", name="pk_entities"),
        sa.UniqueConstraint("tenant", "entity_type", "seq", name="uq_entities_tenant_entity_type_seq"),
    )

    op.create_table(
        "entity_assignments",
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("entity_type", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(255), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("assigned_at", Timestamp, nullable=False),
        sa.Column("run_id", sa.String(255), nullable=True),
        # No foreign keys on purpose: see entity_assignments in schema.py.
        sa.PrimaryKeyConstraint("tenant", "entity_type", "record_id", name="pk_entity_assignments"),
    )
    op.create_index(
        "ix_entity_assignments_entity_id", "entity_assignments", ["tenant", "entity_type", "entity_id"]
    )

    op.create_table(
        "do_not_link",
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("entity_type", sa.String(64), nullable=False),
        sa.Column("record_id_l", sa.String(255), nullable=False),
        sa.Column("record_id_r", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("decided_by", sa.String(255), nullable=False),
        sa.Column("run_id", sa.String(255), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "entity_type", "record_id_l", "record_id_r", name="pk_do_not_link"),
    )

    op.create_table(
        "match_models",
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("entity_type", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("parameters", sa.Text, nullable=False),
        sa.Column("settings_fingerprint", sa.String(128), nullable=False),
        sa.Column("trained_on", sa.BigInteger, nullable=False),
        sa.Column("metrics", sa.Text, nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "entity_type", "version", name="pk_match_models"),
    )


def downgrade() -> None:
    op.drop_table("match_models")
    op.drop_table("do_not_link")
    op.drop_index("ix_entity_assignments_entity_id", table_name="entity_assignments")
    op.drop_table("entity_assignments")
    op.drop_table("entities")
