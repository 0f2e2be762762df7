"""Engines for the SQL record store: write transactions that lock before they read.

A batch is judged on rows read inside its write transaction, so those rows must not move
before the write: PostgreSQL locks them with `SELECT ... FOR UPDATE`; SQLite has no row
locks, so a write transaction takes the database's write lock up front (`BEGIN IMMEDIATE`,
`crm_hygiene.sqlite_engine`) and waits for another writer instead of failing.
"""

from __future__ import annotations

import sqlalchemy as sa

from crm_hygiene.sql_url import with_driver
from crm_hygiene.sqlite_engine import listen_sqlite, write_transaction

__all__ = ["create_store_engine", "write_transaction"]


def create_store_engine(url: str | sa.URL) -> sa.Engine:
    engine = sa.create_engine(with_driver(url))
    if engine.dialect.name == "sqlite":
        listen_sqlite(engine)
    return engine
