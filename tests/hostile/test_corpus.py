"""The hostile-input corpus against every store and the dedupe command's file handling.

For every case: the read completes, or stops with one line naming the file (and the line
or column where it can); no record is lost; no untouched cell comes back different."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from crm_hygiene.stores import SqlRecordStore
from tests.hostile import checks
from tests.hostile.corpus import Case, cases

CASES = list(cases())
IDS = [case.name for case in CASES]


def test_the_corpus_is_large_and_covers_every_category() -> None:
    assert len(CASES) >= 200
    assert len(set(IDS)) == len(IDS)
    assert {c.category for c in CASES} == {"encoding", "size", "structure", "value", "file"}


def _assert_nothing_lost(result: checks.Result, case: Case) -> None:
    if result.status == "completed":
        assert result.rows_after == result.rows_before, "every record read, none lost or split"
    assert result.altered == 0, "untouched cells came back different"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_csv_store(case: Case, tmp_path: Path) -> None:
    result = checks.check_csv(case, tmp_path / "crm")
    _assert_nothing_lost(result, case)
    assert result.status == ("refused" if case.records is None else "completed")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_xlsx_store(case: Case, tmp_path: Path) -> None:
    result = checks.check_xlsx(case, tmp_path / "crm.xlsx")
    if result.status == "not representable":
        pytest.skip(result.message)
    _assert_nothing_lost(result, case)


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> SqlRecordStore:
    return SqlRecordStore(f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'crm.sqlite'}")


@pytest.fixture(scope="module")
def postgresql_store(postgres_engine: sa.Engine) -> Iterator[SqlRecordStore]:
    schema = f"hostile_{uuid.uuid4().hex[:12]}"  # one per test process
    with postgres_engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield SqlRecordStore(postgres_engine.url.render_as_string(hide_password=False), schema=schema)
    with postgres_engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest.mark.parametrize("number", range(len(CASES)), ids=IDS)
def test_sql_stores(kind: str, number: int, request: pytest.FixtureRequest) -> None:
    store = request.getfixturevalue(f"{kind}_store")
    result = checks.check_sql(CASES[number], store, tenant=f"h{number}")
    if result.status == "not representable":
        pytest.skip(result.message)
    _assert_nothing_lost(result, CASES[number])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_dedupe_command_files(case: Case, tmp_path: Path) -> None:
    result = checks.check_dedupe_files(case, tmp_path / "files")
    _assert_nothing_lost(result, case)


# One case of each category through the whole command, as a user runs it.
WHOLE = [
    next(c for c in CASES if c.category == category and c.records)
    for category in ("encoding", "structure", "value")
]


@pytest.mark.parametrize("case", WHOLE, ids=[c.name for c in WHOLE])
def test_dedupe_command_end_to_end(case: Case, tmp_path: Path) -> None:
    source = tmp_path / "contacts.csv"
    source.write_bytes(case.data)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "entity: contact\nid: id\nfields:\n  first_name: first_name\n  last_name: last_name\n  email: email\n"
    )
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("crm-hygiene")),
            "dedupe",
            str(source),
            "--entity",
            "contact",
            "--mapping",
            str(mapping),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr
    if done.returncode == 1:
        # Progress lines, then the error in one line naming what is wrong.
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith("crm-hygiene dedupe: ") and "Traceback" not in done.stderr
        assert "contacts.csv" in last or "column" in last, last
        return
    result = checks.check_dedupe_files(case, tmp_path / "again")
    assert result.altered == 0
