"""Opening a ledger migrates it, is repeatable, and keeps PostgreSQL schemas apart."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from crm_hygiene.ledger import Ledger, Proposal
from crm_hygiene.ledger.schema import metadata

from .conftest import LedgerTarget

LEDGER_TABLES = {"proposals", "audit_log", "review_queue", "decisions"}
# Added by migration 0002 (dedup bookkeeping).
LEDGER_TABLES |= {"entities", "entity_assignments", "do_not_link", "match_models"}
# Added by migration 0003 (tenants and versioned policies).
LEDGER_TABLES |= {"tenants", "policy_versions", "policy_assignments", "run_policies"}
# Added by migration 0005 (the write path's intents).
LEDGER_TABLES |= {"write_batches", "write_intents"}
HEAD = "0005"


def _inspect_engine(target: LedgerTarget) -> sa.Engine:
    if target.schema is None:
        return sa.create_engine(target.url)
    # Make the ledger's schema the only one visible, so unqualified names resolve into it.
    return sa.create_engine(target.url, connect_args={"options": f"-csearch_path={target.schema}"})


def test_open_creates_the_tables_and_the_version_table(ledger_target: LedgerTarget) -> None:
    ledger_target.open().close()
    engine = _inspect_engine(ledger_target)
    try:
        tables = set(sa.inspect(engine).get_table_names(schema=ledger_target.schema))
        with engine.connect() as connection:
            versions = connection.execute(sa.text("select version_num from alembic_version")).scalars().all()
    finally:
        engine.dispose()
    assert tables == LEDGER_TABLES | {"alembic_version"}
    assert versions == [HEAD]


def test_migrated_tables_match_the_schema_module(ledger_target: LedgerTarget) -> None:
    ledger_target.open().close()
    engine = _inspect_engine(ledger_target)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_open_twice_is_a_no_op_that_keeps_data(
    ledger_target: LedgerTarget, make_proposal: Callable[..., Proposal]
) -> None:
    with ledger_target.open() as first:
        assert first.record_proposals([make_proposal()]) == 1
    with ledger_target.open() as second, ledger_target.open() as third:
        assert [p.record_id for p in second.proposals("acme")] == ["c-1"]
        assert third.counts("acme")["proposals_total"] == 1


def test_sqlite_ledger_creates_its_directory_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "ledger.db"
    with Ledger.open(f"sqlite:///{path}") as ledger, ledger.engine.connect() as connection:
        journal_mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        busy_timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    assert path.exists()
    assert journal_mode == "wal"
    assert busy_timeout >= 1000


def test_in_memory_sqlite_ledger_keeps_its_data(make_proposal: Callable[..., Proposal]) -> None:
    with Ledger.open("sqlite://") as ledger:
        assert ledger.record_proposals([make_proposal()]) == 1
        assert len(ledger.proposals("acme")) == 1


def test_sqlite_has_no_schemas(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"schema .*needs PostgreSQL"):
        Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}", schema="ledger")


def test_unsupported_backend_is_refused_before_connecting() -> None:
    with pytest.raises(ValueError, match="backend 'mysql' is not supported"):
        Ledger.open("mysql://user@localhost/ledger")


def test_postgres_schemas_are_separate_ledgers_and_missing_ones_are_created(
    postgres_engine: sa.Engine, postgres_schema: str, make_proposal: Callable[..., Proposal]
) -> None:
    url = postgres_engine.url.render_as_string(hide_password=False)
    other = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with Ledger.open(url, schema=postgres_schema) as first, Ledger.open(url, schema=other) as second:
            assert first.record_proposals([make_proposal()]) == 1
            assert second.proposals("acme") == []
            assert second.record_proposals([make_proposal()]) == 1
        inspector = sa.inspect(postgres_engine)
        assert set(inspector.get_table_names(schema=other)) == LEDGER_TABLES | {"alembic_version"}
        assert "proposals" in inspector.get_table_names(schema=postgres_schema)
    finally:
        with postgres_engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{other}" CASCADE'))
