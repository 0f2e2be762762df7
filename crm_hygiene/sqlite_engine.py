"""SQLite connections for the ledger and the SQL record store: write transactions that lock
before they read, a lock waited for, a page cache sized for batches.

pysqlite's own implicit BEGIN comes too late and too weak (DEFERRED): a transaction that
reads first and writes later fails with SQLITE_BUSY, without waiting, if another writer
committed in between. SQLAlchemy's "begin" hook issues `BEGIN IMMEDIATE` instead for write
transactions, the documented recipe for control over SQLite's locking.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

# Another process (a sensor, a run, a rep's tool) may hold the write lock: wait for it.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# A 64 MB page cache instead of 2 MB: a batch inserts or updates hundreds of thousands of
# rows at random places of a few B-trees (hashed change ids, record ids).
SQLITE_CACHE_KIB = 65_536
# Execution option read by the "begin" hook.
_WRITE = "crm_hygiene_write"


def listen_sqlite(engine: sa.Engine, pragmas: Sequence[str] = ()) -> None:
    """Give every connection of a SQLite `engine` the settings above and `pragmas` (such as
    "journal_mode = WAL"), and make `write_transaction` take the write lock up front."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            f"busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}",
            f"cache_size = -{SQLITE_CACHE_KIB}",
            *pragmas,
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", _on_begin)


def _on_begin(connection: sa.Connection) -> None:
    immediate = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in a transaction that commits on success and holds the write lock (SQLite)
    from its first statement."""
    with engine.connect() as connection:
        connection.execution_options(**{_WRITE: True})
        with connection.begin():
            yield connection
