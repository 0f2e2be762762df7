"""A SQLite store's snapshot is read as Arrow and equals what `pd.read_sql` gives, value for value
and dtype for dtype; where that reader does not apply, the snapshot is read the ordinary way."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from crm_hygiene.demo import DemoConfig, generate_demo_crm
from crm_hygiene.model import Entity, spec
from crm_hygiene.stores import SqlRecordStore, sqlite_arrow
from tests.stores.conftest import seed


def _read_sql(store: SqlRecordStore, tenant: str, entity: Entity) -> pd.DataFrame:
    """The snapshot as it was read before the Arrow reader: SQLAlchemy and the sqlite3 module."""
    table = sa.Table(spec(entity).table, sa.MetaData(), autoload_with=store._engine)
    with store._engine.connect() as conn:
        frame = pd.read_sql(sa.select(table).where(table.c.tenant == tenant).order_by(table.c.id), conn)
    return frame[list(spec(entity).fields)]


@pytest.fixture
def demo_store(tmp_path: Path) -> SqlRecordStore:
    store = SqlRecordStore(f"sqlite:///{tmp_path / 'crm.sqlite'}")
    crm = generate_demo_crm(DemoConfig(contacts=2_000, companies=400, seed=3))
    for entity in (Entity.COMPANY, Entity.CONTACT, Entity.EMPLOYMENT):
        store.insert_records("demo", entity, crm.records[entity])
    return store


def test_the_arrow_snapshot_equals_the_read_sql_one(
    demo_store: SqlRecordStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = []
    original = sqlite_arrow.read_tenant_rows

    def spy(*args: object, **kwargs: object) -> pd.DataFrame | None:
        read.append(frame := original(*args, **kwargs))  # type: ignore[arg-type]
        return frame

    monkeypatch.setattr("crm_hygiene.stores.sql.read_tenant_rows", spy)
    for entity in Entity:
        snapshot = demo_store.snapshot("demo", entity)
        assert read.pop() is not None, f"{entity}: the Arrow reader was not used"
        pd.testing.assert_frame_equal(snapshot, _read_sql(demo_store, "demo", entity))
        assert snapshot["version"].dtype == np.int64
        text = snapshot.drop(columns="version")
        assert all(pd.api.types.is_object_dtype(d) for d in text.dtypes)
        assert text.map(lambda v: v is None or type(v) is str).all().all()
    # merged_into is NULL on every demo record: an all-NULL column comes back as text.
    assert demo_store.snapshot("demo", Entity.CONTACT)["merged_into"].isna().all()


def test_a_column_null_in_every_row_but_the_last_is_text(tmp_path: Path) -> None:
    store = SqlRecordStore(f"sqlite:///{tmp_path / 'crm.sqlite'}")
    ids = [f"C{i:05d}" for i in range(3_000)]
    store.insert_records(
        "acme",
        Entity.CONTACT,
        pd.DataFrame({"id": ids, "merged_into": [None] * 2_999 + ["C00000"], "owner": [None] * 3_000}),
    )
    snapshot = store.snapshot("acme", Entity.CONTACT)
    pd.testing.assert_frame_equal(snapshot, _read_sql(store, "acme", Entity.CONTACT))
    assert snapshot["merged_into"].iloc[-1] == "C00000" and snapshot["owner"].isna().all()


def test_values_the_arrow_reader_refuses_are_read_the_ordinary_way(tmp_path: Path) -> None:
    path = tmp_path / "crm.sqlite"
    store = SqlRecordStore(f"sqlite:///{path}")
    seed(store)
    # Written behind the store's back: a blob in a text column, a text version.
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE contacts SET phone = ? WHERE id = 'C1'", (b"\x00\x01",))
        raw.execute("UPDATE companies SET version = 'two' WHERE id = 'A1'")
    assert sqlite_arrow.read_tenant_rows(
        str(path), "contacts", list(spec(Entity.CONTACT).fields), "acme", text_columns=["phone"]
    ) is None  # fmt: skip
    for entity in (Entity.CONTACT, Entity.COMPANY):
        pd.testing.assert_frame_equal(store.snapshot("acme", entity), _read_sql(store, "acme", entity))
    assert store.snapshot("acme", Entity.CONTACT).set_index("id").loc["C1", "phone"] == b"\x00\x01"


def test_an_empty_tenant_and_an_in_memory_database_read_as_before(tmp_path: Path) -> None:
    store = SqlRecordStore(f"sqlite:///{tmp_path / 'crm.sqlite'}")
    seed(store)
    pd.testing.assert_frame_equal(
        store.snapshot("nobody", Entity.CONTACT), _read_sql(store, "nobody", Entity.CONTACT)
    )
    memory = SqlRecordStore("sqlite://")
    seed(memory)
    assert len(memory.snapshot("acme", Entity.CONTACT)) > 0
