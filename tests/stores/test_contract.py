"""The record-store contract: every implementation (SQLite, CSV, XLSX, PostgreSQL) passes it."""

from __future__ import annotations

import itertools
import json

import pandas as pd
import pytest

from crm_hygiene.model import Entity, Status
from crm_hygiene.stores import FieldChange, Outcome, RecordStore, StoreError
from crm_hygiene.stores.operations import flag, merge, unmerge
from tests.stores.conftest import row_counts, seed

# Fields a write legitimately moves forward; everything else must come back exactly.
_MOVING = ["version", "updated_at"]


def _frozen(store: RecordStore, tenant: str = "acme") -> dict[Entity, pd.DataFrame]:
    return {
        e: store.snapshot(tenant, e).drop(columns=_MOVING).sort_values("id").reset_index(drop=True)
        for e in Entity
    }


def _value(store: RecordStore, entity: Entity, record_id: str, field: str, tenant: str = "acme") -> object:
    row = store.read(tenant, entity, [record_id])
    assert len(row) == 1, f"{entity} {record_id} not found"
    return row.iloc[0][field]


def test_insert_then_snapshot_round_trips_values(store: RecordStore) -> None:
    seed(store)
    snap = store.snapshot("acme", Entity.CONTACT).set_index("id")
    assert list(snap.index) == ["C1", "C2", "C3"]
    assert snap.at["C2", "email"] == "Ann@Acme.com"
    assert snap.at["C3", "email"] is None or pd.isna(snap.at["C3", "email"])
    assert {str(v) for v in snap["version"]} == {"1"}
    assert set(snap["status"]) == {Status.ACTIVE.value}
    assert store.tenants() == ["acme"]
    assert row_counts(store) == {Entity.CONTACT: 3, Entity.COMPANY: 2, Entity.EMPLOYMENT: 3}


def test_inserting_an_existing_or_repeated_id_is_a_clear_error(store: RecordStore) -> None:
    seed(store)
    with pytest.raises(StoreError, match="C1"):
        store.insert_records("acme", Entity.CONTACT, pd.DataFrame({"id": ["C1"], "first_name": ["Again"]}))
    with pytest.raises(StoreError, match="C9"):
        store.insert_records("acme", Entity.CONTACT, pd.DataFrame({"id": ["C9", "C9"]}))
    assert store.count("acme", Entity.CONTACT) == 3


def test_change_with_matching_old_value_and_version_is_applied_once(store: RecordStore) -> None:
    seed(store)
    change = FieldChange(Entity.CONTACT, "C2", "email", "Ann@Acme.com", "ann@acme.com", expected_version=1)
    report = store.apply_changes("acme", [change])
    assert [r.outcome for r in report.results] == [Outcome.APPLIED]
    assert report.results[0].version_after == 2
    assert _value(store, Entity.CONTACT, "C2", "email") == "ann@acme.com"
    assert int(_value(store, Entity.CONTACT, "C2", "version")) == 2
    again = store.apply_changes("acme", [change])
    assert [r.outcome for r in again.results] == [Outcome.ALREADY_APPLIED]
    assert int(_value(store, Entity.CONTACT, "C2", "version")) == 2
    # The version moved on, so a different write based on the old snapshot is refused.
    other = FieldChange(Entity.CONTACT, "C2", "email", "Ann@Acme.com", "a.lee@acme.com", expected_version=1)
    assert [r.outcome for r in store.apply_changes("acme", [other]).results] == [Outcome.CONFLICT]
    assert _value(store, Entity.CONTACT, "C2", "email") == "ann@acme.com"


def test_a_record_edited_since_the_snapshot_is_not_overwritten(store: RecordStore) -> None:
    seed(store)
    # A rep fixes the first name after our snapshot was taken.
    store.apply_changes("acme", [FieldChange(Entity.CONTACT, "C2", "first_name", "ann", "Annie")])
    stale = FieldChange(Entity.CONTACT, "C2", "first_name", "ann", "Ann", expected_version=1)
    report = store.apply_changes("acme", [stale])
    assert report.results[0].outcome is Outcome.CONFLICT
    assert "edited since the snapshot" in report.results[0].reason
    assert _value(store, Entity.CONTACT, "C2", "first_name") == "Annie"
    by_value = FieldChange(Entity.CONTACT, "C2", "first_name", "ann", "Ann")
    assert store.apply_changes("acme", [by_value]).results[0].outcome is Outcome.CONFLICT
    assert _value(store, Entity.CONTACT, "C2", "first_name") == "Annie"


def test_several_changes_to_one_record_bump_its_version_once(store: RecordStore) -> None:
    seed(store)
    report = store.apply_changes(
        "acme",
        [
            FieldChange(Entity.CONTACT, "C1", "first_name", "Ann", "Anne", 1),
            FieldChange(Entity.CONTACT, "C1", "last_name", "Lee", "Leigh", 1),
        ],
    )
    assert [r.outcome for r in report.results] == [Outcome.APPLIED, Outcome.APPLIED]
    assert int(_value(store, Entity.CONTACT, "C1", "version")) == 2


def test_missing_records_and_unwritable_fields_are_reported_not_written(store: RecordStore) -> None:
    seed(store)
    report = store.apply_changes(
        "acme",
        [
            FieldChange(Entity.CONTACT, "C404", "email", None, "x@y.com"),
            FieldChange(Entity.CONTACT, "C1", "version", "1", "7"),
            FieldChange(Entity.CONTACT, "C1", "no_such_field", None, "x"),
        ],
    )
    assert [r.outcome for r in report.results] == [Outcome.MISSING, Outcome.REJECTED, Outcome.REJECTED]
    assert "C404" in report.results[0].reason
    assert "version" in report.results[1].reason
    assert int(_value(store, Entity.CONTACT, "C1", "version")) == 1


def test_all_or_nothing_writes_nothing_when_one_change_conflicts(store: RecordStore) -> None:
    seed(store)
    report = store.apply_changes(
        "acme",
        [
            FieldChange(Entity.CONTACT, "C1", "title", None, "CEO"),
            FieldChange(Entity.CONTACT, "C3", "first_name", "Robert", "Rob"),  # C3 holds "Bob": conflict
        ],
        all_or_nothing=True,
    )
    assert [r.outcome for r in report.results] == [Outcome.ROLLED_BACK, Outcome.CONFLICT]
    title = _value(store, Entity.CONTACT, "C1", "title")
    assert title is None or pd.isna(title)
    assert int(_value(store, Entity.CONTACT, "C1", "version")) == 1


def test_tenants_are_isolated(store: RecordStore) -> None:
    seed(store, "acme")
    seed(store, "globex")
    store.apply_changes("globex", [FieldChange(Entity.CONTACT, "C1", "first_name", "Ann", "Anna")])
    assert _value(store, Entity.CONTACT, "C1", "first_name", "acme") == "Ann"
    assert _value(store, Entity.CONTACT, "C1", "first_name", "globex") == "Anna"
    assert store.tenants() == ["acme", "globex"]


def test_flag_adds_a_code_and_marks_the_record_flagged(store: RecordStore) -> None:
    seed(store)
    flag(store, "acme", Entity.CONTACT, "C3", "missing_email")
    assert json.loads(_value(store, Entity.CONTACT, "C3", "flags")) == ["missing_email"]
    assert _value(store, Entity.CONTACT, "C3", "status") == Status.FLAGGED.value
    assert flag(store, "acme", Entity.CONTACT, "C3", "missing_email") == []  # already flagged: no write
    flag(store, "acme", Entity.CONTACT, "C3", "stale")
    assert json.loads(_value(store, Entity.CONTACT, "C3", "flags")) == ["missing_email", "stale"]


def test_company_merge_repoints_contacts_and_employment_and_unmerge_restores_exactly(
    store: RecordStore,
) -> None:
    seed(store)
    before = _frozen(store)
    results = merge(store, "acme", Entity.COMPANY, "A1", "A2")
    assert _value(store, Entity.COMPANY, "A2", "status") == Status.MERGED.value
    assert _value(store, Entity.COMPANY, "A2", "merged_into") == "A1"
    contacts = store.snapshot("acme", Entity.CONTACT).set_index("id")
    assert list(contacts["company_id"]) == ["A1", "A1", "A1"]
    employment = store.snapshot("acme", Entity.EMPLOYMENT).set_index("id")
    assert list(employment["company_id"]) == ["A1", "A1", "A1"]
    assert row_counts(store) == {Entity.CONTACT: 3, Entity.COMPANY: 2, Entity.EMPLOYMENT: 3}

    unmerge(store, "acme", results)
    after = _frozen(store)
    for entity in Entity:
        pd.testing.assert_frame_equal(after[entity], before[entity], check_dtype=False)


def test_contact_merge_repoints_employment_and_reporting_lines(store: RecordStore) -> None:
    seed(store)
    before = _frozen(store)
    results = merge(store, "acme", Entity.CONTACT, "C1", "C2")
    employment = store.snapshot("acme", Entity.EMPLOYMENT).set_index("id")
    assert employment.at["E2", "contact_id"] == "C1"
    assert employment.at["E3", "reports_to"] == "C1"
    unmerge(store, "acme", results)
    for entity, frame in _frozen(store).items():
        pd.testing.assert_frame_equal(frame, before[entity], check_dtype=False)


def test_merging_into_a_loser_moves_earlier_losers_to_the_new_survivor(store: RecordStore) -> None:
    seed(store)
    merge(store, "acme", Entity.CONTACT, "C2", "C3")
    merge(store, "acme", Entity.CONTACT, "C1", "C2")
    assert _value(store, Entity.CONTACT, "C3", "merged_into") == "C1"


def test_impossible_merges_are_clear_errors_that_write_nothing(store: RecordStore) -> None:
    seed(store)
    with pytest.raises(StoreError, match="into itself"):
        merge(store, "acme", Entity.CONTACT, "C1", "C1")
    with pytest.raises(StoreError, match="C404"):
        merge(store, "acme", Entity.CONTACT, "C1", "C404")
    merge(store, "acme", Entity.CONTACT, "C1", "C2")
    with pytest.raises(StoreError, match="already merged"):
        merge(store, "acme", Entity.CONTACT, "C2", "C3")
    assert _value(store, Entity.CONTACT, "C3", "status") == Status.ACTIVE.value


def test_unmerge_after_a_rep_edit_is_refused_and_keeps_the_edit(store: RecordStore) -> None:
    seed(store)
    results = merge(store, "acme", Entity.COMPANY, "A1", "A2")
    store.apply_changes("acme", [FieldChange(Entity.CONTACT, "C3", "company_id", "A1", "A7")])
    with pytest.raises(StoreError, match="unmerge not applied"):
        unmerge(store, "acme", results)
    assert _value(store, Entity.CONTACT, "C3", "company_id") == "A7"
    assert _value(store, Entity.COMPANY, "A2", "status") == Status.MERGED.value


def test_row_counts_never_fall_across_every_operation(store: RecordStore) -> None:
    seed(store)
    counts = [row_counts(store)]
    store.apply_changes("acme", [FieldChange(Entity.CONTACT, "C1", "email", "ann@acme.com", None)])
    counts.append(row_counts(store))
    flag(store, "acme", Entity.COMPANY, "A2", "duplicate_suspect")
    counts.append(row_counts(store))
    merged = merge(store, "acme", Entity.COMPANY, "A1", "A2")
    counts.append(row_counts(store))
    unmerge(store, "acme", merged)
    counts.append(row_counts(store))
    merge(store, "acme", Entity.CONTACT, "C1", "C2")
    counts.append(row_counts(store))
    for earlier, later in itertools.pairwise(counts):
        for entity in Entity:
            assert later[entity] >= earlier[entity]
    assert counts[-1] == counts[0]


def test_a_tenant_is_inserted_whole_or_not_at_all(store: RecordStore) -> None:
    seed(store)
    before = _frozen(store)
    companies = pd.DataFrame({"id": ["A9"], "name": ["New Co"]})
    contacts = pd.DataFrame({"id": ["C9", "C1"], "first_name": ["Nia", "Again"]})  # C1 exists
    with pytest.raises(StoreError, match="C1"):
        store.insert_tenant("acme", {Entity.COMPANY: companies, Entity.CONTACT: contacts})
    assert row_counts(store) == {Entity.CONTACT: 3, Entity.COMPANY: 2, Entity.EMPLOYMENT: 3}
    for entity, frame in _frozen(store).items():
        pd.testing.assert_frame_equal(frame, before[entity])
    report = store.insert_tenant("acme", {Entity.COMPANY: companies, Entity.CONTACT: contacts.iloc[:1]})
    assert report.counts == {Entity.COMPANY: 1, Entity.CONTACT: 1}
    assert report.replaced.empty
    assert row_counts(store)[Entity.CONTACT] == 4


# What each store cannot hold: PostgreSQL refuses NUL in text, XML (so XLSX) control characters.
_CANNOT_HOLD = {"postgresql": {"\x00"}, "xlsx": {"\x00", "\x07"}}


def _kind(store: RecordStore) -> str:
    description = store.description
    if description.startswith("sql:postgresql"):
        return "postgresql"
    if description.startswith("sql:"):
        return "sqlite"
    return "xlsx" if description.endswith(".xlsx") else "csv"


@pytest.mark.parametrize("character", ["\x00", "\x07"])
def test_text_a_store_cannot_hold_is_replaced_and_flagged_on_insert_and_refused_on_change(
    store: RecordStore, character: str
) -> None:
    seed(store)
    value = f"Ann{character}Marie"
    report = store.insert_tenant(
        "acme", {Entity.CONTACT: pd.DataFrame({"id": ["C9"], "first_name": [value], "last_name": ["Lee"]})}
    )
    stored = _value(store, Entity.CONTACT, "C9", "first_name")
    cannot = character in _CANNOT_HOLD.get(_kind(store), set())
    if cannot:
        assert stored == "Ann\ufffdMarie", "replaced, never cut short"
        assert report.replaced.to_dict("records") == [
            {
                "entity": "contact",
                "record_id": "C9",
                "field": "first_name",
                "original": value,
                "stored": stored,
            }
        ]
        assert json.loads(_value(store, Entity.CONTACT, "C9", "flags")) == ["text_replaced:first_name"]
        assert _value(store, Entity.CONTACT, "C9", "status") == Status.FLAGGED.value
    else:
        assert stored == value, "kept exactly"
        assert report.replaced.empty
        assert _value(store, Entity.CONTACT, "C9", "status") == Status.ACTIVE.value

    result = store.apply_changes(
        "acme", [FieldChange(Entity.CONTACT, "C3", "first_name", "Bob", f"Bo{character}b")]
    )
    if cannot:
        assert result.results[0].outcome is Outcome.REJECTED
        assert result.results[0].reason.startswith("not written: ")
        assert _value(store, Entity.CONTACT, "C3", "first_name") == "Bob"
    else:
        assert result.results[0].outcome is Outcome.APPLIED
        assert _value(store, Entity.CONTACT, "C3", "first_name") == f"Bo{character}b"
