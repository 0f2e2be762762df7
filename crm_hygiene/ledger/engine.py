"""Engines for the ledger: SQLite tuned for several processes at once, PostgreSQL with a schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

SUPPORTED_BACKENDS = ("sqlite", "postgresql")

# A sensor, a run and the review UI share one file; wait for a lock rather than fail at once.
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 65_536

# Execution option read by the SQLite "begin" hook to open a write transaction.
_WRITE = "crm_hygiene_ledger_write"


def create_ledger_engine(url: str | URL, schema: str | None = None) -> tuple[sa.Engine, sa.Engine]:
    """(engine to query through, underlying engine to dispose). Both share one pool."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise ValueError(
            f"ledger URL {parsed!r}: backend {backend!r} is not supported ({SUPPORTED_BACKENDS})"
        )
    if backend == "sqlite":
        if schema:
            raise ValueError(f"ledger URL {parsed!r}: a schema ({schema!r}) needs PostgreSQL, not SQLite")
        base = _sqlite_engine(parsed)
    else:
        base = sa.create_engine(parsed, pool_pre_ping=True)
    engine = base.execution_options(schema_translate_map={None: schema}) if schema else base
    return engine, base


def _sqlite_engine(url: URL) -> sa.Engine:
    database = url.database or ""
    kwargs: dict[str, Any] = {}
    if database in ("", ":memory:") or url.query.get("mode") == "memory":
        # One shared connection, otherwise each pooled connection would see its own empty database.
        kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    elif not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, **kwargs)
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own implicit BEGIN comes too late and too weak (DEFERRED); SQLAlchemy's "begin"
    # hook below issues it instead, which is the documented recipe for control over locking.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    # WAL lets readers (the sensor) proceed while a run writes.
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    # A 64 MB page cache instead of 2 MB: a batch inserts or updates hundreds of thousands of
    # rows at random places of a few B-trees (hashed change ids, record ids).
    cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    cursor.close()


def _on_sqlite_begin(connection: sa.Connection) -> None:
    # A write transaction takes the write lock up front: a DEFERRED one that reads first and
    # writes later fails with SQLITE_BUSY (no waiting) if another writer committed in between.
    immediate = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in a transaction that commits on success and may write from its first statement."""
    with engine.connect() as connection:
        connection.execution_options(**{_WRITE: True})
        with connection.begin():
            yield connection
