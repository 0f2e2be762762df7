"""Migrations step by step: from empty to 0001 to head, and 0002 down to 0001 and back up."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from crm_hygiene.ledger import Proposal, rows
from crm_hygiene.ledger.codec import utc_now
from crm_hygiene.ledger.engine import create_ledger_engine, write_transaction
from crm_hygiene.ledger.migrate import alembic_config
from crm_hygiene.ledger.schema import metadata, proposals

from .conftest import LedgerTarget
from .test_ledger_open import HEAD, LEDGER_TABLES, _inspect_engine

TABLES_0001 = {"proposals", "audit_log", "review_queue", "decisions"}


def _migrate(target: LedgerTarget, step: Callable[..., None], revision: str) -> None:
    """Run one alembic command the way `Ledger.open()` runs upgrades: on a handed-over connection."""
    engine, base = create_ledger_engine(target.url, target.schema)
    try:
        config = alembic_config(target.schema)
        with write_transaction(engine) as connection:
            config.attributes["connection"] = connection
            step(config, revision)
    finally:
        base.dispose()


def _state(target: LedgerTarget) -> tuple[set[str], list[str]]:
    engine = _inspect_engine(target)
    try:
        tables = set(sa.inspect(engine).get_table_names(schema=target.schema)) - {"alembic_version"}
        with engine.connect() as connection:
            versions = connection.execute(sa.text("select version_num from alembic_version")).scalars().all()
    finally:
        engine.dispose()
    return tables, versions


def _differences(target: LedgerTarget) -> list[object]:
    engine = _inspect_engine(target)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def test_upgrade_from_empty_one_step_at_a_time_keeps_data(
    ledger_target: LedgerTarget, make_proposal: Callable[..., Proposal]
) -> None:
    _migrate(ledger_target, command.upgrade, "0001")
    assert _state(ledger_target) == (TABLES_0001, ["0001"])
    # A proposal written by a 0001-era ledger.
    engine, base = create_ledger_engine(ledger_target.url, ledger_target.schema)
    try:
        with write_transaction(engine) as connection:
            connection.execute(sa.insert(proposals), [rows.proposal_row(make_proposal(), utc_now())])
    finally:
        base.dispose()
    _migrate(ledger_target, command.upgrade, "head")
    assert _state(ledger_target) == (LEDGER_TABLES, [HEAD])
    assert _differences(ledger_target) == []
    with ledger_target.open() as ledger:
        assert [p.record_id for p in ledger.proposals("acme")] == ["c-1"]
        assert ledger.record_proposals([make_proposal("c-2")]) == 1


def test_downgrade_to_0001_and_back(
    ledger_target: LedgerTarget, make_proposal: Callable[..., Proposal]
) -> None:
    with ledger_target.open() as ledger:
        ledger.record_proposals([make_proposal()])
        ledger.registry.assign_entity_ids(
            "acme", "contact", pd.DataFrame({"record_id": ["c-1"], "cluster": [1]}), run_id="run-1"
        )
        ledger.registry.add_do_not_link("acme", "contact", [("c-1", "c-2")], reason="r", decided_by="x")
        ledger.registry.save_match_model("acme", "contact", {"p": 1}, settings_fingerprint="s", trained_on=1)

    _migrate(ledger_target, command.downgrade, "0001")
    assert _state(ledger_target) == (TABLES_0001, ["0001"])
    # 0002's tables are gone; 0001's data is untouched.
    engine = _inspect_engine(ledger_target)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("select record_id from proposals")).scalars().all() == ["c-1"]
    finally:
        engine.dispose()

    # Opening upgrades again, to empty dedup tables that match the schema module.
    with ledger_target.open() as ledger:
        assert [p.record_id for p in ledger.proposals("acme")] == ["c-1"]
        assert ledger.registry.entity_ids("acme", "contact").empty
        assert ledger.registry.load_match_model("acme", "contact") is None
        assert (
            ledger.registry.save_match_model("acme", "contact", {}, settings_fingerprint="s", trained_on=0)
            == 1
        )
    assert _state(ledger_target) == (LEDGER_TABLES, [HEAD])
    assert _differences(ledger_target) == []


def test_0001_still_refuses_to_downgrade(ledger_target: LedgerTarget) -> None:
    ledger_target.open().close()
    _migrate(ledger_target, command.downgrade, "0001")
    with pytest.raises(NotImplementedError, match="not reversible"):
        _migrate(ledger_target, command.downgrade, "base")
    assert _state(ledger_target) == (TABLES_0001, ["0001"])
