"""Shared fixtures: a real PostgreSQL schema per test session when the server is reachable.

Locally the PostgreSQL-backed tests skip if nothing listens on the configured URL; CI sets
CRM_HYGIENE_REQUIRE_POSTGRES=1 so that an unreachable server fails the run instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def _postgres_url() -> str:
    return os.environ.get("CRM_HYGIENE_TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL)


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[sa.Engine]:
    url = _postgres_url()
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:
        engine.dispose()
        if os.environ.get("CRM_HYGIENE_REQUIRE_POSTGRES") == "1":
            pytest.fail(
                f"PostgreSQL is required (CRM_HYGIENE_REQUIRE_POSTGRES=1) but {url} is unreachable: {exc}"
            )
        pytest.skip(f"PostgreSQL unreachable at {url}: {exc}")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_schema(postgres_engine: sa.Engine) -> Iterator[str]:
    """A fresh, empty PostgreSQL schema for one test, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with postgres_engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    yield name
    with postgres_engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
