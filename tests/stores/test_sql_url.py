"""A PostgreSQL URL as PostgreSQL's documentation writes it (`postgresql://`) opens the store and ledger."""

from __future__ import annotations

import sqlalchemy as sa

from crm_hygiene.ledger import Ledger
from crm_hygiene.model import Entity
from crm_hygiene.sql_url import with_driver
from crm_hygiene.stores import SqlRecordStore


def test_a_url_without_a_driver_gets_the_installed_one_and_one_with_a_driver_is_kept() -> None:
    assert with_driver("postgresql://u@h/db").drivername == "postgresql+psycopg2"
    assert with_driver("postgres://u@h/db").drivername == "postgresql+psycopg2"
    assert with_driver("postgresql+psycopg2://u@h/db").drivername == "postgresql+psycopg2"
    assert with_driver("postgresql+pg8000://u@h/db").drivername == "postgresql+pg8000"
    assert with_driver("sqlite:///x.sqlite").drivername == "sqlite"


def test_a_bare_postgresql_url_opens_the_store_and_the_ledger(
    postgres_engine: sa.Engine, postgres_schema: str
) -> None:
    url = postgres_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    assert url.startswith("postgresql://")
    store = SqlRecordStore(url, schema=postgres_schema)
    assert store.count("acme", Entity.CONTACT) == 0
    with Ledger.open(url, schema=postgres_schema) as ledger:
        assert ledger.tenants.add(["acme"], by="test") == {"acme": True}
