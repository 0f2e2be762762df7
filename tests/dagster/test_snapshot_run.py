"""Materialize the nightly job in process against temporary stores, and the check that guards it."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from crm_hygiene.model import Entity
from crm_hygiene.stores import SqlRecordStore, open_store
from crm_hygiene.warehouse import read_table
from crm_hygiene_dagster.jobs.run import run_nightly
from crm_hygiene_dagster.resources import CrmStoreResource, LedgerResource, WarehouseResource
from tests.stores.conftest import seed


@pytest.fixture
def resources(tmp_path: Path) -> dict[str, object]:
    crm_url = f"sqlite:///{tmp_path / 'crm.sqlite'}"
    store = SqlRecordStore(crm_url)
    seed(store)
    store.insert_records(
        "acme",
        Entity.CONTACT,
        pd.DataFrame({"id": ["C9"], "first_name": ["Eve\x07"], "last_activity_at": ["not a date"]}),
    )
    return _resources(tmp_path, crm_url)


def _resources(tmp_path: Path, crm_url: str, tenant: str = "acme") -> dict[str, object]:
    """The run's resources on `crm_url`, with a ledger that knows `tenant`."""
    ledger = LedgerResource(url=f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    with ledger.open() as book:
        book.tenants.add([tenant], by="test")
    return {
        "crm_store": CrmStoreResource(url=crm_url),
        "ledger": ledger,
        "warehouse": WarehouseResource(database=str(tmp_path / "warehouse.duckdb")),
    }


def test_nightly_run_materializes_the_snapshot_with_metadata(resources: dict[str, object]) -> None:
    with dg.instance_for_test() as instance:
        summary = run_nightly("acme", instance=instance, resources=resources)
        assert summary.success, summary.failures
        meta = summary.materialized["crm_snapshot"]
        assert meta["contacts.rows"] == 4
        assert meta["contacts.malformed_rows"] == 1
        assert meta["contacts.malformed_by_field"] == {"first_name": 1, "last_activity_at": 1}
        assert meta["employment.rows"] == 3
        assert summary.checks == {
            "crm_snapshot:crm_snapshot_schema": True,
            "normalized_records:normalized_records_schema": True,
            "normalized_records:normalized_records_expectations": True,
            "merge_proposals:merge_proposals_schema_check": True,
        }
        normalized = summary.materialized["normalized_records"]
        assert normalized["contacts.rows"] == 4
        assert normalized["contacts.changes_by_rule"]["email_lowercase"] == 1  # C2's Ann@Acme.com
        proposals = summary.materialized["standardization_proposals"]
        assert proposals["proposals"] >= 1
        assert instance.get_dynamic_partitions("tenants") == ["acme"]
        # Running again is idempotent: the same tables, the same counts.
        again = run_nightly("acme", instance=instance, resources=resources)
        assert again.materialized["crm_snapshot"]["contacts.rows"] == 4
        assert again.materialized["standardization_proposals"]["proposals"] == proposals["proposals"]

    warehouse: WarehouseResource = resources["warehouse"]  # type: ignore[assignment]
    with warehouse.get_connection() as conn:
        contacts = read_table(conn, "acme", "snapshot_contacts").set_index("id")
    assert (
        contacts.at["C9", "issues"]
        == "first_name: control characters; last_activity_at: unparseable date 'not a date'"
    )
    assert contacts.at["C9", "first_name"] == "Eve\x07"
    with warehouse.get_connection() as conn:
        stored = read_table(conn, "acme", "standardization_proposals")
    row = stored[(stored["record_id"] == "C2") & (stored["field"] == "email")].iloc[0]
    assert (row["old_value"], row["new_value"], row["rule"]) == (
        "Ann@Acme.com",
        "ann@acme.com",
        "email_lowercase",
    )
    assert row["expected_version"] == 1
    assert stored["change_id"].is_unique


def test_the_blocking_check_fails_on_a_broken_snapshot_and_shows_failure_cases(
    resources: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    import crm_hygiene.pipeline.snapshot as pipeline_snapshot

    prepare = pipeline_snapshot.prepare_snapshot

    def broken(entity: Entity, raw: pd.DataFrame) -> pd.DataFrame:
        # Simulate a defect upstream: two well-formed rows sharing one id.
        frame = prepare(entity, raw)
        if entity is Entity.CONTACT:
            frame.loc[1, "id"] = frame.loc[0, "id"]
        return frame

    monkeypatch.setattr(pipeline_snapshot, "prepare_snapshot", broken)
    with dg.instance_for_test() as instance:
        summary = run_nightly("acme", instance=instance, resources=resources)
    assert summary.checks["crm_snapshot:crm_snapshot_schema"] is False
    assert "normalized_records" not in summary.materialized  # blocked by the failed check
    metadata = summary.check_metadata["crm_snapshot:crm_snapshot_schema"]
    assert metadata["contacts.failure_cases"] >= 1
    assert "well_formed_rows_have_unique_ids" in metadata["contacts.failed_checks"]
    assert "companies.failed_checks" not in metadata


@pytest.mark.parametrize("kind", ["sqlite", "spreadsheet"])
def test_a_date_in_year_9999_is_flagged_and_never_stops_the_run(tmp_path: Path, kind: str) -> None:
    # The usual open end of an employment row, and a created_at in year 1: beyond what a
    # nanosecond timestamp holds, on both kinds of store; kept as written, the run goes on.
    crm_url = (
        f"sqlite:///{tmp_path / 'crm.sqlite'}" if kind == "sqlite" else f"spreadsheet:{tmp_path / 'crm'}"
    )
    store = open_store(crm_url)
    seed(store)
    store.insert_records(
        "acme",
        Entity.EMPLOYMENT,
        pd.DataFrame({"id": ["E9"], "contact_id": ["C1"], "company_id": ["A1"], "valid_to": ["9999-12-31"]}),
    )
    store.insert_records(
        "acme",
        Entity.CONTACT,
        pd.DataFrame({"id": ["C8"], "first_name": ["Ada"], "created_at": ["0001-01-01T00:00:00Z"]}),
    )
    with dg.instance_for_test() as instance:
        summary = run_nightly("acme", instance=instance, resources=_resources(tmp_path, crm_url))
    assert summary.success, summary.failures
    with WarehouseResource(database=str(tmp_path / "warehouse.duckdb")).get_connection() as conn:
        employment = read_table(conn, "acme", "snapshot_employment").set_index("id")
        contacts = read_table(conn, "acme", "snapshot_contacts").set_index("id")
    assert employment.at["E9", "issues"] == "valid_to: date outside 1677-2262, kept as written '9999-12-31'"
    assert contacts.at["C8", "issues"].startswith("created_at: date outside 1677-2262")
    # Nothing was written over them.
    reread = open_store(crm_url)
    assert reread.read("acme", Entity.EMPLOYMENT, ["E9"]).iloc[0]["valid_to"] == "9999-12-31"
    assert reread.read("acme", Entity.CONTACT, ["C8"]).iloc[0]["created_at"] == "0001-01-01T00:00:00Z"


def test_a_store_error_is_the_failure_the_summary_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The store names the file; the openpyxl error it was raised from does not. (A workbook
    # that cannot be opened stops the run: one bad sheet of a folder is held, test_unreadable_table.)
    book = tmp_path / "crm.xlsx"
    book.write_bytes(b"PK\x03\x04 not a workbook")
    resources = _resources(tmp_path, f"spreadsheet:{book}", tenant="default")
    with dg.instance_for_test() as instance:
        capsys.readouterr()
        summary = run_nightly("default", instance=instance, resources=resources, tracebacks=False)
        brief = capsys.readouterr().err
        run_nightly("default", instance=instance, resources=resources, tracebacks=True)
        verbose = capsys.readouterr().err
    assert not summary.success
    assert len(summary.failures) == 1
    assert summary.failures[0].startswith(f"crm_snapshot: spreadsheet:{book}: cannot read the workbook: ")
    # Without --verbose the log names the error without Dagster's 45 frames or the skipped steps.
    assert f"spreadsheet:{book}: cannot read the workbook" in brief
    assert "Stack Trace" not in brief and 'File "' not in brief and "Dependencies for step" not in brief
    assert "Stack Trace" in verbose and 'File "' in verbose and "Dependencies for step" in verbose


@pytest.mark.parametrize("sheet", ["contacts.csv", "crm.xlsx"])
def test_rows_without_an_id_of_their_own_are_flagged_and_left_out_not_a_stopped_run(
    tmp_path: Path, sheet: str
) -> None:
    # A repeated id (a row pasted twice) and a row with no id: each is kept in the snapshot
    # with its reason; the rest of the tenant is normalized, deduplicated and written.
    contacts = pd.DataFrame(
        {
            "id": ["C1", "C1", "", "C2", "C3"],
            "first_name": ["ann", "Ann", "Nameless", "bob", "Bob"],
            "last_name": ["LEE", "Lee", "Row", "stone", "Stone"],
            "email": ["ann@acme.com", "ann@acme.com", "x@acme.com", "BOB@STONE.IO", "bob@stone.io"],
        }
    )
    if sheet.endswith(".csv"):
        folder = tmp_path / "crm"
        folder.mkdir()
        contacts.to_csv(folder / sheet, index=False)
        crm_url = f"spreadsheet:{folder}"
        before = (folder / sheet).read_bytes()
    else:
        with pd.ExcelWriter(tmp_path / sheet, engine="openpyxl") as writer:
            contacts.to_excel(writer, sheet_name="contacts", index=False)
        crm_url = f"spreadsheet:{tmp_path / sheet}"
        before = None
    with dg.instance_for_test() as instance:
        summary = run_nightly(
            "default", instance=instance, resources=_resources(tmp_path, crm_url, "default")
        )
    assert summary.success, summary.failures
    assert all(summary.checks.values()), summary.checks
    assert summary.value("crm_snapshot", "contacts.unkeyed_rows") == 3
    assert "3 without an id of their own left out" in "\n".join(summary.headline())
    with WarehouseResource(database=str(tmp_path / "warehouse.duckdb")).get_connection() as conn:
        snapshot = read_table(conn, "default", "snapshot_contacts")
        normalized = read_table(conn, "default", "normalized_contacts")
        proposals = read_table(conn, "default", "standardization_proposals")
    assert len(snapshot) == 5
    assert sorted(snapshot["issues"]) == sorted(
        ["", "", "id: missing", *["id: repeated in the snapshot"] * 2]
    )
    assert sorted(normalized["id"]) == ["C2", "C3"]
    # The rest is standardized as usual; the unkeyed rows get no proposal a write could not place.
    assert set(proposals["record_id"]) == {"C2"}, "C3 is clean; C1 (lower-case, repeated) is left out"
    rows = open_store(crm_url).snapshot("default", Entity.CONTACT)
    unkeyed = rows[~rows["id"].isin(["C2", "C3"])]
    assert list(unkeyed["first_name"]) == ["ann", "Ann", "Nameless"]
    assert set(unkeyed["version"].astype(str)) == {"1"}
    if before is not None:
        after = (tmp_path / "crm" / sheet).read_bytes().splitlines()
        assert [line[: len(old)] for line, old in zip(after[1:4], before.splitlines()[1:4], strict=True)] == [
            line for line in before.splitlines()[1:4]
        ], "the unkeyed rows' cells are untouched"
