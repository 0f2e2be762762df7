"""The ledger's tables (SQLAlchemy Core). Migrations create them; this module only describes them.

Tables carry no schema name: a PostgreSQL schema is applied per engine through
`schema_translate_map`, so one description serves every tenant deployment.
Values, before/after and evidence are canonical JSON text (see `codec`), which keeps None
apart from "" and round-trips numbers and nested merge details on every backend.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

# SQLite only auto-increments an INTEGER PRIMARY KEY; elsewhere ids may outgrow 32 bits.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Stored instead of NULL for "no group": NULLs never collide in a UNIQUE constraint, so a
# nullable group_id would let the same ungrouped apply be recorded twice.
NO_GROUP = ""


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, also on SQLite which stores no offset."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"ledger timestamps must be timezone-aware, got naive {value.isoformat()}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


proposals = sa.Table(
    "proposals",
    metadata,
    sa.Column("change_id", sa.String(64), primary_key=True),
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
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_proposals_tenant_status", "tenant", "status"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
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
    sa.Column("group_id", sa.String(255), nullable=False, server_default=NO_GROUP),
    sa.Column("version_after", sa.BigInteger, nullable=True),
    sa.Column("applied_at", UtcDateTime, nullable=False),
    # Re-recording the same apply (a rerun after a crash) must be a no-op.
    sa.UniqueConstraint("change_id", "action", "group_id"),
    sa.Index("ix_audit_log_run_id", "run_id"),
    sa.Index("ix_audit_log_group_id", "group_id"),
    sa.Index("ix_audit_log_record", "tenant", "entity", "record_id"),
)

review_queue = sa.Table(
    "review_queue",
    metadata,
    sa.Column("change_id", sa.String(64), sa.ForeignKey(proposals.c.change_id), primary_key=True),
    sa.Column("tenant", sa.String(255), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("queued_at", UtcDateTime, nullable=False),
    sa.Index("ix_review_queue_tenant_state", "tenant", "state"),
)

# The primary key on id is the index the sensor's cursor paging (id > cursor) walks.
decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("change_id", sa.String(64), sa.ForeignKey(review_queue.c.change_id), nullable=False),
    sa.Column("tenant", sa.String(255), nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("decided_by", sa.String(255), nullable=False),
    sa.Column("decided_at", UtcDateTime, nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    # Two decisions can never claim the same version of one change.
    sa.UniqueConstraint("change_id", "version"),
)

# -- deduplication bookkeeping (migration 0002) ----------------------------------------------
# Everything is keyed by (tenant, entity_type) first, so one tenant's ids, pairs and models
# can never be read or matched against another's.

# One row per entity id ever issued. Ids are never reused or removed: a merge retires the
# younger id and names its successor, so an id stored anywhere downstream still resolves.
entities = sa.Table(
    "entities",
    metadata,
    sa.Column("tenant", sa.String(255), nullable=False),
    sa.Column("entity_type", sa.String(64), nullable=False),
    sa.Column("entity_id", sa.String(64), nullable=False),
    # Issue order within (tenant, entity_type): the id's number and the "oldest id" tie-break.
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("created_run_id", sa.String(255), nullable=True),
    sa.Column("successor_id", sa.String(64), nullable=True),
    sa.Column("retired_at", UtcDateTime, nullable=True),
    sa.Column("retired_run_id", sa.String(255), nullable=True),
    sa.PrimaryKeyConstraint("tenant", "entity_type", "entity_id"),
    sa.UniqueConstraint("tenant", "entity_type", "seq"),
)

# The current entity id of each record the matcher has seen; only ever points at a live id.
# No foreign keys here or on entities.successor_id: on PostgreSQL a run's first bulk write
# meets an entities table without planner statistics, and the per-row key checks then cost
# a scan each (quadratic: 20,000 records took 7 s instead of 0.3 s). The registry is the
# only writer and links ids it has just read or issued, under its lock.
entity_assignments = sa.Table(
    "entity_assignments",
    metadata,
    sa.Column("tenant", sa.String(255), nullable=False),
    sa.Column("entity_type", sa.String(64), nullable=False),
    sa.Column("record_id", sa.String(255), nullable=False),
    sa.Column("entity_id", sa.String(64), nullable=False),
    sa.Column("assigned_at", UtcDateTime, nullable=False),
    sa.Column("run_id", sa.String(255), nullable=True),
    sa.PrimaryKeyConstraint("tenant", "entity_type", "record_id"),
    sa.Index("ix_entity_assignments_entity_id", "tenant", "entity_type", "entity_id"),
)

# Rejected merges. Stored with record_id_l < record_id_r (Python string order, decided before
# the insert rather than by a CHECK, whose collation would differ between backends), so the
# primary key makes (a, b) and (b, a) one pair.
do_not_link = sa.Table(
    "do_not_link",
    metadata,
    sa.Column("tenant", sa.String(255), nullable=False),
    sa.Column("entity_type", sa.String(64), nullable=False),
    sa.Column("record_id_l", sa.String(255), nullable=False),
    sa.Column("record_id_r", sa.String(255), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("decided_by", sa.String(255), nullable=False),
    sa.Column("run_id", sa.String(255), nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint("tenant", "entity_type", "record_id_l", "record_id_r"),
)

# Trained match parameters (canonical JSON), one version per training, apart from settings:
# the fingerprint says which settings they were trained for.
match_models = sa.Table(
    "match_models",
    metadata,
    sa.Column("tenant", sa.String(255), nullable=False),
    sa.Column("entity_type", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("parameters", sa.Text, nullable=False),
    sa.Column("settings_fingerprint", sa.String(128), nullable=False),
    sa.Column("trained_on", sa.BigInteger, nullable=False),
    sa.Column("metrics", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint("tenant", "entity_type", "version"),
)

# Tenants the project runs (migration 0003): the nightly schedule and `run` read this list,
# so it is the same with or without a Dagster instance.
tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.PrimaryKeyConstraint("name"),
)

# Policy documents, one row per distinct content per tenant, keyed by the sha256 of the
# canonical content; `text` keeps the document as written (comments included).
policy_versions = sa.Table(
    "policy_versions",
    metadata,
    sa.Column("tenant", sa.String(64), nullable=False),
    sa.Column("policy_hash", sa.String(64), nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.PrimaryKeyConstraint("tenant", "policy_hash"),
)

# Which version is in force: every `policy set` and `policy rollback` appends a row; the
# latest row per tenant wins. Nothing is overwritten, so the history is complete.
policy_assignments = sa.Table(
    "policy_assignments",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.String(64), nullable=False),
    sa.Column("policy_hash", sa.String(64), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("assigned_at", UtcDateTime, nullable=False),
    sa.Column("assigned_by", sa.String(255), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Index("ix_policy_assignments_tenant", "tenant", "id"),
)

# The policy version each run started with: every step of the run reads this row, so a
# policy changed mid-run takes effect from the next run on.
run_policies = sa.Table(
    "run_policies",
    metadata,
    sa.Column("run_id", sa.String(255), nullable=False),
    sa.Column("tenant", sa.String(64), nullable=False),
    sa.Column("policy_hash", sa.String(64), nullable=False),
    sa.Column("pinned_at", UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint("run_id", "tenant"),
)

# -- the write path (migration 0005) ------------------------------------------------------------
# A batch of changes is announced here before the store is written (the write-ahead intent)
# and closed once its audit entries, statuses and review items are written. A batch still
# open is one a crash interrupted: the next writer of the tenant completes it from these rows.
write_batches = sa.Table(
    "write_batches",
    metadata,
    sa.Column("batch_id", sa.String(64), primary_key=True),
    sa.Column("tenant", sa.String(255), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("run_id", sa.String(255), nullable=True),
    sa.Column("policy_version", sa.String(64), nullable=False),
    sa.Column("changes", sa.BigInteger, nullable=False),
    # apply or revert; atomic: each group is all-or-nothing (a merge, an unmerge).
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("atomic", sa.Boolean, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("closed_at", UtcDateTime, nullable=True),
    sa.Index("ix_write_batches_tenant_state", "tenant", "state"),
)

# What a batch means to write, change by change, in order: the value it expects, the value it
# writes, the record version the decision was made on and the group it belongs to (a merge).
# The proposal (by change id) holds the rest: entity, record, field, kind and evidence.
write_intents = sa.Table(
    "write_intents",
    metadata,
    sa.Column("batch_id", sa.String(64), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("change_id", sa.String(64), nullable=False),
    sa.Column("group_id", sa.String(255), nullable=False, server_default=NO_GROUP),
    sa.Column("old_value", sa.Text, nullable=False),
    sa.Column("new_value", sa.Text, nullable=False),
    sa.Column("expected_version", sa.BigInteger, nullable=True),
    # The audit evidence when it is not the proposal's (an undo names the entry it undoes).
    sa.Column("evidence", sa.Text, nullable=True),
    sa.PrimaryKeyConstraint("batch_id", "seq"),
)
