"""Every store implementation behind one fixture, so one contract suite runs against all of them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from crm_hygiene.model import Entity
from crm_hygiene.stores import RecordStore, SpreadsheetRecordStore, SqlRecordStore

StoreFactory = Callable[[], RecordStore]


@pytest.fixture(params=["sqlite", "csv", "xlsx", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordStore]:
    kind = request.param
    if kind == "sqlite":
        made = SqlRecordStore(f"sqlite:///{tmp_path / 'crm.sqlite'}")
    elif kind == "csv":
        made = SpreadsheetRecordStore(tmp_path / "crm_csv")
    elif kind == "xlsx":
        made = SpreadsheetRecordStore(tmp_path / "crm.xlsx")
    else:
        engine: sa.Engine = request.getfixturevalue("postgres_engine")
        schema: str = request.getfixturevalue("postgres_schema")
        made = SqlRecordStore(engine.url.render_as_string(hide_password=False), schema=schema)
    yield made
    close = getattr(made, "close", None)
    if close:
        close()


def seed(store: RecordStore, tenant: str = "acme") -> None:
    """Two companies, three contacts, employment rows and a reporting line."""
    store.insert_records(
        tenant,
        Entity.COMPANY,
        pd.DataFrame(
            {
                "id": ["A1", "A2"],
                "name": ["Acme Inc", "ACME, Inc."],
                "website": ["acme.com", "https://www.acme.com"],
                "country": ["US", "United States"],
            }
        ),
    )
    store.insert_records(
        tenant,
        Entity.CONTACT,
        pd.DataFrame(
            {
                "id": ["C1", "C2", "C3"],
                "first_name": ["Ann", "ann", "Bob"],
                "last_name": ["Lee", "LEE", "Stone"],
                "email": ["ann@acme.com", "Ann@Acme.com", None],
                "company_id": ["A1", "A2", "A2"],
            }
        ),
    )
    store.insert_records(
        tenant,
        Entity.EMPLOYMENT,
        pd.DataFrame(
            {
                "id": ["E1", "E2", "E3"],
                "contact_id": ["C1", "C2", "C3"],
                "company_id": ["A1", "A2", "A2"],
                "title": ["VP Sales", "VP Sales", "AE"],
                "reports_to": [None, None, "C2"],
                "valid_from": ["2020-01-01", "2020-01-01", "2021-06-01"],
            }
        ),
    )


def row_counts(store: RecordStore, tenant: str = "acme") -> dict[Entity, int]:
    return {entity: store.count(tenant, entity) for entity in Entity}
