"""No raw e-mail or phone of the demo reaches a reader that is not privileged.

A whole demo run goes through the command line as a user runs it: `demo`, `run` (and
`run --verbose`, which prints every metadata entry), `audit` without `--show-pii`. Their
output, and the Dagster event log the UI shows, are scanned for every e-mail address and
phone number of the demo CRM, whole tokens only (a phone of nines is not a probability's
digits)."""

from __future__ import annotations

import functools
import re
import sqlite3

import pytest

from crm_hygiene.demo import DemoConfig, generate_demo_crm
from crm_hygiene.model import Entity
from tests.cli.test_cli_end_to_end import _run

CONFIG = DemoConfig(contacts=600, companies=120, seed=5, tenant="pii")


@functools.cache
def _raw_values() -> frozenset[str]:
    demo = generate_demo_crm(CONFIG)
    values: set[str] = set()
    for entity in (Entity.CONTACT, Entity.COMPANY):
        frame = demo.records[entity]
        for column in ("email", "phone"):
            if column in frame:
                values |= {
                    v.strip() for v in frame[column].dropna().astype(str) if sum(c.isalnum() for c in v) >= 7
                }
    return frozenset(values)


def _found(values: frozenset[str], text: str) -> list[str]:
    # One pattern for all values, longest first, so a phone is not found as part of a longer one.
    alternatives = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
    return sorted(set(re.findall(rf"(?<![\w.@+])(?:{alternatives})(?![\w@])", text)))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("pii_home")
    texts: dict[str, str] = {}
    demo = _run(home, "demo", "--contacts", "600", "--companies", "120", "--seed", "5", "--tenant", "pii")
    assert demo.returncode == 0, demo.stderr
    texts["demo"] = demo.stdout + demo.stderr
    for name, args in {
        "run": ["run", "--tenant", "pii"],
        "run --verbose": ["run", "--tenant", "pii", "--verbose"],
    }.items():
        done = _run(home, *args)
        assert done.returncode == 0, done.stdout + done.stderr
        texts[name] = done.stdout + done.stderr
    audit = _run(home, "audit", "--tenant", "pii", "--limit", "1000000")
    assert audit.returncode == 0, audit.stderr
    assert audit.stdout.count("\n") > 100, "the run wrote audit entries to scan"
    texts["audit"] = audit.stdout
    texts["audit --show-pii"] = _run(
        home, "audit", "--tenant", "pii", "--limit", "1000000", "--show-pii"
    ).stdout
    events = []
    for database in (home / "dagster").rglob("*.db"):
        with sqlite3.connect(database) as conn:
            tables = [t for (t,) in conn.execute("select name from sqlite_master where type='table'")]
            for table in tables:
                for row in conn.execute(f'select * from "{table}"'):
                    events.extend(str(cell) for cell in row if isinstance(cell, str))
    assert events, "the Dagster event log was found"
    texts["dagster event log"] = "\n".join(events)
    return texts


@pytest.mark.parametrize("reader", ["demo", "run", "run --verbose", "audit", "dagster event log"])
def test_no_raw_email_or_phone_reaches_a_reader(outputs: dict[str, str], reader: str) -> None:
    values = _raw_values()
    assert len(values) > 500
    leaked = _found(values, outputs[reader])
    assert not leaked, f"{len(leaked)} raw values in {reader}, e.g. {leaked[:5]}"


def test_the_scan_finds_the_values_where_they_are_shown(outputs: dict[str, str]) -> None:
    # The privileged reader shows them: the scan would see a leak.
    assert len(_found(_raw_values(), outputs["audit --show-pii"])) > 10
