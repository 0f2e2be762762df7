"""A tenant with one sheet the store cannot read: the run holds that sheet and goes on.

On a folder of CSV sheets holding the demo CRM: a ragged line in employment.csv (which every
merge re-points) holds every auto merge and writes nothing, while contacts and companies are
snapshotted and deduplicated; once the sheet reads again, the next run merges. A sheet that
later loses its id column keeps its last snapshot instead of looking deleted. With the
policy's `stop`, the run fails in one line naming the file and writes nothing.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from crm_hygiene.policy import parse_policy
from crm_hygiene.policy.store import PolicyStore
from crm_hygiene.warehouse import read_table
from crm_hygiene_dagster.jobs.run import RunSummary, run_nightly
from crm_hygiene_dagster.resources import WarehouseResource
from tests.dagster.test_dedupe_run import _resources
from tests.matching.dedupe_demo import TENANT, Crm, new_crm

SHEETS = ("contacts.csv", "companies.csv", "employment.csv")


@pytest.fixture
def crm(tmp_path: Path) -> Crm:
    return new_crm(tmp_path, spreadsheet=True)


def _folder(crm: Crm) -> Path:
    return Path(crm.crm_url.removeprefix("spreadsheet:"))


def _files(crm: Crm) -> dict[str, bytes]:
    return {name: (_folder(crm) / name).read_bytes() for name in SHEETS}


def _held_lines(summary: RunSummary) -> list[str]:
    return [line for line in summary.headline() if line.strip().startswith("held ")]


def test_a_run_holds_an_unreadable_sheet_and_processes_the_others(crm: Crm, tmp_path: Path) -> None:
    folder = _folder(crm)
    employment = folder / "employment.csv"
    good = employment.read_bytes()
    # A line with one cell too many, in the middle of the sheet.
    lines = good.splitlines(keepends=True)
    lines.insert(len(lines) // 2, lines[len(lines) // 2].rstrip(b"\r\n") + b",stray\n")
    employment.write_bytes(b"".join(lines))
    before = _files(crm)
    resources = _resources(crm, tmp_path)
    with dg.instance_for_test() as instance:
        first = run_nightly(TENANT, instance=instance, resources=resources)
        assert first.success, first.failures
        snap = first.materialized["crm_snapshot"]
        assert "employment.csv" in snap["employment.held"] and "line " in snap["employment.held"]
        assert snap["employment.rows"] == 0  # no earlier snapshot to keep
        assert snap["contacts.rows"] > 300 and snap["companies.rows"] > 50
        assert "contacts.held" not in snap and "companies.held" not in snap
        # Contacts and companies were deduplicated; every auto merge re-points employment rows.
        applied = first.materialized["applied_merges"]
        assert applied["held"] > 0 and applied["merged"] == 0
        held = _held_lines(first)
        assert len(held) == 1 and "employment" in held[0] and "employment.csv" in held[0]
        assert "held until a table reads again" in "\n".join(first.headline())
        assert _files(crm) == before, "nothing was written to any sheet"

        employment.write_bytes(good)
        second = run_nightly(TENANT, instance=instance, resources=resources)
        assert second.success, second.failures
        assert "employment.held" not in second.materialized["crm_snapshot"]
        assert second.materialized["crm_snapshot"]["employment.rows"] > 300
        assert second.materialized["applied_merges"]["merged"] >= applied["held"] * 0.9
        assert second.materialized["applied_merges"]["held"] == 0
        assert not _held_lines(second)

        # A sheet that loses its id column keeps the snapshot of the last run that read it.
        companies = folder / "companies.csv"
        text = companies.read_bytes()
        renamed = text.replace(b"id,", b"key,", 1)
        assert renamed != text
        companies.write_bytes(renamed)
        warehouse: WarehouseResource = resources["warehouse"]  # type: ignore[assignment]
        with warehouse.get_connection() as conn:
            kept = read_table(conn, TENANT, "snapshot_companies")
        third = run_nightly(TENANT, instance=instance, resources=resources)
        assert third.success, third.failures
        snap = third.materialized["crm_snapshot"]
        assert "has no 'id' column" in snap["companies.held"]
        assert snap["companies.rows"] == len(kept)
        assert snap["companies.changes"] == {}
        with warehouse.get_connection() as conn:
            assert read_table(conn, TENANT, "snapshot_companies").equals(kept)
        assert companies.read_bytes() == renamed


def test_the_policy_can_stop_the_run_on_an_unreadable_sheet(crm: Crm, tmp_path: Path) -> None:
    PolicyStore(crm.ledger).set(TENANT, parse_policy("snapshot:\n  on_unreadable_table: stop\n"), by="test")
    companies = _folder(crm) / "companies.csv"
    companies.write_bytes(companies.read_bytes() + b'C9,"an unbalanced quote\n')
    before = _files(crm)
    with dg.instance_for_test() as instance:
        summary = run_nightly(
            TENANT, instance=instance, resources=_resources(crm, tmp_path), tracebacks=False
        )
    assert not summary.success
    assert len(summary.failures) == 1
    failure = summary.failures[0]
    assert failure.startswith("crm_snapshot: ") and "companies.csv" in failure and "\n" not in failure
    assert "applied_merges" not in summary.materialized
    assert _files(crm) == before
