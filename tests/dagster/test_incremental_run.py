"""An incremental run gives what a full run gives on the same data.

After a first run (which merges), reps edit records, a company moves country (its contacts'
phones are read with its country: they must be normalized again though nobody edited them),
and new records arrive, one a duplicate. The whole state (CRM store, ledger, warehouse) is
copied; one copy runs incrementally, the other with `--full`. Snapshot, normalized records,
standardization proposals, clusters, entity ids, merge proposals and the CRM afterwards must
be the same.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pandas as pd

from crm_hygiene.ledger import Ledger
from crm_hygiene.model import Entity
from crm_hygiene.stores import FieldChange, open_store
from crm_hygiene.warehouse import read_table
from crm_hygiene_dagster.jobs.run import run_nightly
from crm_hygiene_dagster.resources import CrmStoreResource, LedgerResource, WarehouseResource
from tests.matching.dedupe_demo import TENANT, duplicate_of, new_crm


def _resources(folder: Path) -> dict[str, object]:
    return {
        "crm_store": CrmStoreResource(url=f"sqlite:///{folder / 'crm.sqlite'}"),
        "ledger": LedgerResource(url=f"sqlite:///{folder / 'ledger.sqlite'}"),
        "warehouse": WarehouseResource(database=str(folder / "warehouse.duckdb")),
    }


def _table(folder: Path, name: str) -> pd.DataFrame:
    with _resources(folder)["warehouse"].get_connection() as conn:  # type: ignore[attr-defined]
        return read_table(conn, TENANT, name)


def _sorted(frame: pd.DataFrame, *key: str, drop: tuple[str, ...] = ()) -> pd.DataFrame:
    return frame.drop(columns=list(drop)).sort_values(list(key)).reset_index(drop=True)


def _add_a_company_abroad(folder: Path) -> None:
    """A company in the UK and a contact of it with a local phone number and no country of its
    own: the phone is read with the company's country."""
    store = open_store(f"sqlite:///{folder / 'crm.sqlite'}")
    company = {"id": "A9000001", "name": "Zyxwv Quantum Ltd", "country": "United Kingdom", "city": "Leeds"}
    store.insert_records(TENANT, Entity.COMPANY, pd.DataFrame([company]))
    contact = {
        "id": "C9000009", "first_name": "Quill", "last_name": "Zanetti", "phone": "020 7946 0958",
        "company_id": "A9000001", "company_name": "Zyxwv Quantum",
    }  # fmt: skip
    store.insert_records(TENANT, Entity.CONTACT, pd.DataFrame([contact]))


def _edit(folder: Path) -> None:
    store = open_store(f"sqlite:///{folder / 'crm.sqlite'}")
    contacts = store.snapshot(TENANT, Entity.CONTACT)
    live = contacts[contacts["status"] == "active"].reset_index(drop=True)
    a, b = live.iloc[3], live.iloc[11]
    edits = [
        FieldChange(Entity.CONTACT, a["id"], "title", a["title"], "Chief Revenue Officer"),
        FieldChange(Entity.CONTACT, b["id"], "phone", b["phone"], "+44 20 7946 0123"),
    ]
    # The company moves: its contact's phone, unedited, is now read as a US number.
    edits.append(FieldChange(Entity.COMPANY, "A9000001", "country", "United Kingdom", "United States"))
    for edit in edits:
        assert store.apply_changes(TENANT, [edit]).ok
    newcomers = pd.concat(
        [
            duplicate_of(store, live.iloc[20]["id"], "C9000001"),
            duplicate_of(store, live.iloc[30]["id"], "C9000002"),
        ]
    )
    newcomers.loc[newcomers["id"] == "C9000002", ["first_name", "email", "phone"]] = ["Zed", None, None]
    store.insert_records(TENANT, Entity.CONTACT, newcomers)


def test_an_incremental_run_after_edits_inserts_and_merges_matches_a_full_run(tmp_path: Path) -> None:
    first = tmp_path / "incremental"
    crm = new_crm(first, models=False)
    crm.ledger.close()
    _add_a_company_abroad(first)
    with dg.instance_for_test() as instance:
        assert run_nightly(TENANT, instance=instance, resources=_resources(first)).success
        assert _table(first, "normalized_contacts").set_index("id").at["C9000009", "phone"] == "+442079460958"
        _edit(first)
        full = tmp_path / "full"
        shutil.copytree(first, full)
        incremental_run = run_nightly(TENANT, instance=instance, resources=_resources(first))
        full_run = run_nightly(TENANT, instance=instance, resources=_resources(full), full=True)
    assert incremental_run.success and full_run.success
    assert incremental_run.materialized["crm_snapshot"]["mode"].startswith("incremental")
    assert full_run.materialized["crm_snapshot"]["mode"].startswith("full")
    # Only what changed was read: the edited and new records and the re-pointed ones of the
    # first run's merges, not the whole CRM.
    read = incremental_run.materialized["crm_snapshot"]["contacts.read"]
    assert 0 < read < incremental_run.materialized["crm_snapshot"]["contacts.rows"] / 2

    # In the US, a London number dialled without its country code is no number at all.
    assert _table(first, "normalized_contacts").set_index("id").at["C9000009", "phone"] is None
    for entity in ("contacts", "companies", "employment"):
        for table in (f"snapshot_{entity}", f"normalized_{entity}"):
            pd.testing.assert_frame_equal(
                _sorted(_table(first, table), "id"), _sorted(_table(full, table), "id"), check_dtype=False
            )
    key = ("entity", "record_id", "field")
    pd.testing.assert_frame_equal(
        _sorted(_table(first, "standardization_proposals"), *key),
        _sorted(_table(full, "standardization_proposals"), *key),
        check_dtype=False,
    )
    for entity in ("contacts", "companies"):
        pd.testing.assert_frame_equal(
            _sorted(_table(first, f"duplicate_clusters_{entity}"), "record_id"),
            _sorted(_table(full, f"duplicate_clusters_{entity}"), "record_id"),
            check_dtype=False,
        )
    # Pair scores carried from the previous run keep the term frequencies of their day, so
    # probabilities may differ in the last digits; which merges, their survivors, values and
    # decisions may not.
    columns = ["change_id", "entity", "survivor_id", "loser_id", "decision", "field_values", "entity_id"]
    ours = _sorted(_table(first, "merge_proposals")[columns], "change_id")
    theirs = _sorted(_table(full, "merge_proposals")[columns], "change_id")
    assert len(ours) > 0
    pd.testing.assert_frame_equal(ours, theirs)
    for entity in Entity:
        stores = [open_store(f"sqlite:///{f / 'crm.sqlite'}").snapshot(TENANT, entity) for f in (first, full)]
        pd.testing.assert_frame_equal(
            _sorted(stores[0], "id", drop=("updated_at",)), _sorted(stores[1], "id", drop=("updated_at",))
        )
    ledgers = [Ledger.open(f"sqlite:///{f / 'ledger.sqlite'}") for f in (first, full)]
    ids = [book.registry.entity_ids(TENANT, "contact").sort_values("record_id") for book in ledgers]
    assert ids[0]["entity_id"].tolist() == ids[1]["entity_id"].tolist()


def test_an_incremental_run_checks_its_own_rows_and_repeated_ids_across_the_table(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    new_crm(folder, models=False).ledger.close()
    _add_a_company_abroad(folder)
    with dg.instance_for_test() as instance:
        assert run_nightly(TENANT, instance=instance, resources=_resources(folder)).success
        _edit(folder)
        second = run_nightly(TENANT, instance=instance, resources=_resources(folder))
        assert second.success
        checked = second.check_metadata["crm_snapshot:crm_snapshot_schema"]
        assert checked["contacts.checked"] == "rows of this run"
        expectations = second.check_metadata["normalized_records:normalized_records_expectations"]
        assert (
            expectations["contacts.checked"] == "rows of this run"
            and expectations["contacts.expectations"] >= 6
        )
        assert checked["contacts.rows"] < second.materialized["crm_snapshot"]["contacts.rows"]
        # A row no step of this run wrote, repeated in the table: only a check across the whole
        # table sees it, and the run stops before anything reaches the CRM.
        with _resources(folder)["warehouse"].get_connection() as conn:  # type: ignore[attr-defined]
            table = '"tenant_acme"."snapshot_contacts"'
            conn.execute(f"INSERT INTO {table} SELECT * FROM {table} WHERE NOT malformed LIMIT 1")
        store = open_store(f"sqlite:///{folder / 'crm.sqlite'}")
        row = store.snapshot(TENANT, Entity.CONTACT).iloc[40]
        store.apply_changes(
            TENANT, [FieldChange(Entity.CONTACT, row["id"], "title", row["title"], "Head of Ops")]
        )
        third = run_nightly(TENANT, instance=instance, resources=_resources(folder))
    assert not third.success
    assert third.checks["crm_snapshot:crm_snapshot_schema"] is False
    assert third.check_metadata["crm_snapshot:crm_snapshot_schema"]["contacts.repeated_ids"]
    assert "applied_merges" not in third.materialized
