"""The demo into PostgreSQL: NUL, which PostgreSQL text refuses, is flagged and kept in the
ledger, and a failed load leaves the tenant empty rather than half loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from crm_hygiene.cli.setup import replaced_audit
from crm_hygiene.demo import DemoConfig, generate_demo_crm
from crm_hygiene.demo.load import load_demo
from crm_hygiene.ledger import Ledger
from crm_hygiene.model import Entity
from crm_hygiene.stores import SqlRecordStore, StoreError


@pytest.fixture
def pg_store(postgres_engine: sa.Engine, postgres_schema: str) -> SqlRecordStore:
    return SqlRecordStore(postgres_engine.url.render_as_string(hide_password=False), schema=postgres_schema)


def test_nul_in_the_demo_is_replaced_flagged_and_its_original_kept_in_the_ledger(
    pg_store: SqlRecordStore, postgres_engine: sa.Engine, postgres_schema: str, tmp_path: Path
) -> None:
    config = DemoConfig(contacts=3000, companies=200, seed=7, tenant="demo")
    generated = generate_demo_crm(config).records[Entity.CONTACT].set_index("id")
    result = load_demo(pg_store, config, tmp_path / "truth")
    assert result.loaded == {
        "companies": 200,
        "contacts": 3000,
        "employment": len(generate_demo_crm(config).records[Entity.EMPLOYMENT]),
    }
    replaced = result.replaced
    assert replaced is not None and len(replaced) > 0, "the demo holds NUL bytes"
    for row in replaced.itertuples(index=False):
        assert row.original == generated.at[row.record_id, row.field]
        assert "\x00" in row.original and row.stored == row.original.replace("\x00", "\ufffd")
    stored = pg_store.read("demo", Entity.CONTACT, list(replaced["record_id"])).set_index("id")
    for row in replaced.itertuples(index=False):
        assert stored.at[row.record_id, row.field] == row.stored
        assert f"text_replaced:{row.field}" in stored.at[row.record_id, "flags"]

    url = postgres_engine.url.render_as_string(hide_password=False)
    with Ledger.open(url, schema=postgres_schema) as ledger:
        assert ledger.record_audit(replaced_audit("demo", replaced, actor="tester")) == len(replaced)
        kept = {(e.record_id, e.field): e.before for e in ledger.audit_entries(tenant="demo")}
    assert kept == {(r.record_id, r.field): r.original for r in replaced.itertuples(index=False)}


def test_a_demo_load_that_fails_leaves_the_tenant_empty(pg_store: SqlRecordStore) -> None:
    config = DemoConfig(contacts=500, companies=50, seed=3, tenant="demo")
    records = generate_demo_crm(config).records
    # An employment row of the demo already stored elsewhere in the tenant: the last entity
    # of the load fails, after companies and contacts went in.
    pg_store.insert_records("demo", Entity.EMPLOYMENT, records[Entity.EMPLOYMENT].iloc[:1])
    with pytest.raises(StoreError, match="already exist"):
        pg_store.insert_tenant(
            "demo", {e: records[e] for e in (Entity.COMPANY, Entity.CONTACT, Entity.EMPLOYMENT)}
        )
    assert pg_store.count("demo", Entity.COMPANY) == 0
    assert pg_store.count("demo", Entity.CONTACT) == 0
    assert pg_store.count("demo", Entity.EMPLOYMENT) == 1
