"""Fixtures shared by the deduplication tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.matching.dedupe_demo import Crm, new_crm


@pytest.fixture(params=["sqlite", "postgresql", "spreadsheet"])
def any_crm(request: pytest.FixtureRequest, tmp_path: Path) -> Crm:
    """The demo CRM in a SQLite store, a PostgreSQL schema, or a folder of CSV sheets."""
    if request.param == "postgresql":
        engine = request.getfixturevalue("postgres_engine")
        schema = request.getfixturevalue("postgres_schema")
        return new_crm(tmp_path / "crm", postgres=(engine.url.render_as_string(hide_password=False), schema))
    return new_crm(tmp_path / "crm", spreadsheet=request.param == "spreadsheet")
