"""Engines for the SQL record store: write transactions that lock before they read.

A batch is judged on rows read inside its write transaction, so those rows must not move
before the write: PostgreSQL locks them with `SELECT ... FOR UPDATE`; SQLite has no row
locks, so a write transaction takes the database's write lock up front (`BEGIN IMMEDIATE`)
and waits for another writer instead of failing. pysqlite's own implicit BEGIN comes too late
and too weak (DEFERRED); SQLAlchemy's "begin" hook issues it instead, the documented recipe.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

# Another process (a rep's tool, a second run) may hold the write lock: wait for it.
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 65_536
# Execution option read by the SQLite "begin" hook.
_WRITE = "crm_hygiene_store_write"


def create_store_engine(url: str | sa.URL) -> sa.Engine:
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    # A 64 MB page cache instead of 2 MB: a batch inserts or updates hundreds of thousands of
    # rows at random places of a few B-trees (hashed change ids, record ids).
    cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    cursor.close()


def _on_sqlite_begin(connection: sa.Connection) -> None:
    immediate = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in a transaction that holds the write lock (SQLite) from its first statement."""
    with engine.connect() as connection:
        connection.execution_options(**{_WRITE: True})
        with connection.begin():
            yield connection
