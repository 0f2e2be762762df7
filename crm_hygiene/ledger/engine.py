"""Engines for the ledger: SQLite tuned for several processes at once, PostgreSQL with a schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from crm_hygiene.sql_url import with_driver
from crm_hygiene.sqlite_engine import listen_sqlite, write_transaction

__all__ = ["SUPPORTED_BACKENDS", "create_ledger_engine", "write_transaction"]

SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def create_ledger_engine(url: str | URL, schema: str | None = None) -> tuple[sa.Engine, sa.Engine]:
    """(engine to query through, underlying engine to dispose). Both share one pool."""
    parsed = with_driver(make_url(url))
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
    # WAL lets readers (the sensor, the review UI) proceed while a run writes.
    listen_sqlite(engine, ["journal_mode = WAL", "foreign_keys = ON"])
    return engine
