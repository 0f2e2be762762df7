"""The audited writer over a real store and ledger: audit entries, idempotence, conflicts, undo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_hygiene.apply.audited import AuditedWriter
from crm_hygiene.ledger import AuditAction, ChangeKind, Ledger, Proposal, ProposalStatus
from crm_hygiene.ledger.codec import dumps, dumps_many
from crm_hygiene.model import Entity, Status
from crm_hygiene.stores import FieldChange, RecordStore, SpreadsheetRecordStore, SqlRecordStore, StoreError
from tests.stores.conftest import row_counts, seed


@pytest.fixture(params=["sqlite", "postgresql"])
def parts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[RecordStore, Ledger]]:
    if request.param == "sqlite":
        store = SqlRecordStore(f"sqlite:///{tmp_path / 'crm.sqlite'}")
        ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    else:
        engine: sa.Engine = request.getfixturevalue("postgres_engine")
        schema: str = request.getfixturevalue("postgres_schema")
        url = engine.url.render_as_string(hide_password=False)
        store = SqlRecordStore(url, schema=schema)
        ledger = Ledger.open(url, schema=schema)
    seed(store)
    yield store, ledger
    ledger.close()
    store.close()


def _proposal(
    record_id: str, field: str, old: str | None, new: str | None, version: int | None = 1
) -> Proposal:
    return Proposal.new(
        "acme", "contact", record_id, field, old, new, ChangeKind.STANDARDIZE, "test-rule",
        {"rule": "lowercase email"}, 0.99, "policy-1", "run-1", version,
    )  # fmt: skip


def _field(store: RecordStore, entity: Entity, record_id: str, field: str) -> object:
    return store.read("acme", entity, [record_id]).iloc[0][field]


def test_apply_writes_once_and_audits_before_after_actor_run_policy_evidence(parts) -> None:
    store, ledger = parts
    writer = AuditedWriter(store, ledger, actor="nightly", run_id="run-1", policy_version="policy-1")
    proposal = _proposal("C2", "email", "Ann@Acme.com", "ann@acme.com")
    first = writer.apply([proposal])
    assert first.counts()["applied"] == 1
    assert _field(store, Entity.CONTACT, "C2", "email") == "ann@acme.com"
    (entry,) = ledger.audit_entries(change_id=proposal.change_id)
    assert (entry.before, entry.after, entry.actor, entry.run_id, entry.policy_version) == (
        "Ann@Acme.com", "ann@acme.com", "nightly", "run-1", "policy-1",
    )  # fmt: skip
    assert entry.evidence == {"rule": "lowercase email"}
    assert entry.version_after == 2
    assert entry.applied_at is not None

    second = writer.apply([proposal])
    assert second.counts()["applied"] == 0
    assert second.skipped_already_applied == [proposal.change_id]
    assert len(ledger.audit_entries(change_id=proposal.change_id)) == 1
    assert int(_field(store, Entity.CONTACT, "C2", "version")) == 2


def test_a_crash_after_the_write_but_before_the_audit_converges(parts) -> None:
    store, ledger = parts
    proposal = _proposal("C2", "email", "Ann@Acme.com", "ann@acme.com")
    # The store was written, then the process died before the ledger heard of it.
    store.apply_changes("acme", [FieldChange(Entity.CONTACT, "C2", "email", "Ann@Acme.com", "ann@acme.com")])
    summary = AuditedWriter(store, ledger, run_id="run-2").apply([proposal])
    assert summary.applied == [proposal.change_id]
    (entry,) = ledger.audit_entries(change_id=proposal.change_id)
    assert entry.evidence["already_in_place"] is True
    assert ledger.proposals("acme", change_ids=[proposal.change_id])[0].status is ProposalStatus.APPLIED


def test_a_rep_edit_wins_and_the_change_goes_to_review_as_a_conflict(parts) -> None:
    store, ledger = parts
    store.apply_changes(
        "acme", [FieldChange(Entity.CONTACT, "C2", "email", "Ann@Acme.com", "annie@acme.com")]
    )
    proposal = _proposal("C2", "email", "Ann@Acme.com", "ann@acme.com")
    summary = AuditedWriter(store, ledger).apply([proposal])
    assert summary.conflicts == [proposal.change_id]
    assert _field(store, Entity.CONTACT, "C2", "email") == "annie@acme.com"
    (item,) = ledger.review_queue("acme")
    assert item.change_id == proposal.change_id
    assert item.reason.startswith("conflict:")
    assert ledger.audit_entries(change_id=proposal.change_id) == []
    assert ledger.proposals("acme", change_ids=[proposal.change_id])[0].status is ProposalStatus.CONFLICT


def test_merge_and_unmerge_are_audited_and_restore_exactly(parts) -> None:
    store, ledger = parts
    before = {e: store.snapshot("acme", e).drop(columns=["version", "updated_at"]) for e in Entity}
    writer = AuditedWriter(store, ledger, actor="revops@acme.com")
    merged = writer.merge("acme", Entity.COMPANY, "A1", "A2", evidence={"probability": 0.999})
    assert merged.group_id and merged.group_id.startswith("merge-")
    entries = ledger.audit_entries(group_id=merged.group_id, action=AuditAction.APPLY)
    assert {(e.entity, e.record_id, e.field) for e in entries} == {
        ("company", "A2", "status"), ("company", "A2", "merged_into"),
        ("contact", "C2", "company_id"), ("contact", "C3", "company_id"),
        ("employment", "E2", "company_id"), ("employment", "E3", "company_id"),
    }  # fmt: skip
    assert all(e.evidence["probability"] == 0.999 for e in entries)
    assert _field(store, Entity.COMPANY, "A2", "status") == Status.MERGED.value

    writer.unmerge(merged.group_id)
    for entity, frame in before.items():
        after = store.snapshot("acme", entity).drop(columns=["version", "updated_at"])
        pd.testing.assert_frame_equal(after, frame, check_dtype=False)
    reverts = ledger.audit_entries(group_id=merged.group_id, action=AuditAction.REVERT)
    assert len(reverts) == len(entries)
    assert row_counts(store) == {Entity.CONTACT: 3, Entity.COMPANY: 2, Entity.EMPLOYMENT: 3}

    again = writer.merge("acme", Entity.COMPANY, "A1", "A2")
    assert again.group_id != merged.group_id
    assert _field(store, Entity.COMPANY, "A2", "merged_into") == "A1"


def test_revert_run_undoes_what_a_run_applied_and_is_not_reapplied_later(parts) -> None:
    store, ledger = parts
    proposals = [
        _proposal("C1", "title", None, "VP Sales"),
        _proposal("C3", "email", None, "bob@acme.com"),
    ]
    AuditedWriter(store, ledger, run_id="run-7").apply(proposals)
    undo = AuditedWriter(store, ledger, actor="revops@acme.com").revert_run("run-7")
    assert sorted(undo.applied) == sorted(p.change_id for p in proposals)
    assert pd.isna(_field(store, Entity.CONTACT, "C3", "email"))
    again = AuditedWriter(store, ledger, run_id="run-8").apply(proposals)
    assert sorted(again.skipped_reverted) == sorted(p.change_id for p in proposals)
    assert pd.isna(_field(store, Entity.CONTACT, "C3", "email"))


def test_flag_is_audited_and_unknown_records_are_clear_errors(parts) -> None:
    store, ledger = parts
    writer = AuditedWriter(store, ledger)
    summary = writer.flag("acme", Entity.CONTACT, "C3", "missing_email", reason="no email on file")
    assert summary.counts()["applied"] == 2
    kinds = {e.kind for e in ledger.audit_entries(tenant="acme")}
    assert kinds == {ChangeKind.FLAG}
    with pytest.raises(StoreError, match="C404"):
        writer.flag("acme", Entity.CONTACT, "C404", "x")
    with pytest.raises(StoreError, match="no merge"):
        writer.unmerge("merge-nope")


def test_an_older_merge_id_after_a_re_merge_undoes_nothing(parts) -> None:
    store, ledger = parts
    writer = AuditedWriter(store, ledger, actor="revops@acme.com")
    first = writer.merge("acme", Entity.COMPANY, "A1", "A2")
    writer.unmerge(first.group_id)
    second = writer.merge("acme", Entity.COMPANY, "A1", "A2")
    before = {e: store.snapshot("acme", e) for e in Entity}
    entries = len(ledger.audit_entries())
    with pytest.raises(StoreError, match="not in effect"):
        writer.unmerge(first.group_id)
    for entity, frame in before.items():
        pd.testing.assert_frame_equal(store.snapshot("acme", entity), frame)
    assert len(ledger.audit_entries()) == entries
    writer.unmerge(second.group_id)
    assert _field(store, Entity.COMPANY, "A2", "status") == Status.ACTIVE.value


def test_reverting_one_change_of_a_merge_undoes_the_whole_merge(parts) -> None:
    # Half a merge (the loser active with merged_into set, or re-pointed rows alone) is a state
    # no person made: reverting any one of its changes undoes the group.
    store, ledger = parts
    before = {e: store.snapshot("acme", e).drop(columns=["version", "updated_at"]) for e in Entity}
    writer = AuditedWriter(store, ledger, actor="revops@acme.com")
    merged = writer.merge("acme", Entity.COMPANY, "A1", "A2")
    applied = ledger.audit_entries(group_id=merged.group_id, action=AuditAction.APPLY)
    for field in ("status", "merged_into", "company_id"):
        one = next(e for e in applied if e.field == field)
        writer.revert_change(one.change_id)
        for entity, frame in before.items():
            after = store.snapshot("acme", entity).drop(columns=["version", "updated_at"])
            pd.testing.assert_frame_equal(after, frame, check_dtype=False)
        with pytest.raises(StoreError, match="not currently applied"):
            writer.revert_change(one.change_id)
        merged = writer.merge("acme", Entity.COMPANY, "A1", "A2")
        applied = ledger.audit_entries(group_id=merged.group_id, action=AuditAction.APPLY)


@pytest.mark.parametrize("killed_at", [Entity.COMPANY, Entity.CONTACT, Entity.EMPLOYMENT])
def test_a_crash_between_two_sheet_replaces_is_completed_and_undone_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, killed_at: Entity
) -> None:
    # A folder of CSV sheets is replaced sheet by sheet: killed after employment.csv and
    # before companies.csv, an employment row stayed re-pointed with no merge and no audit,
    # and no unmerge could restore it.
    store, ledger, writer = _sheet_folder(tmp_path)
    before = _sheets(store)
    real_save = store._save
    saved: list[Entity] = []

    def killed_before_a_sheet(entity: Entity, frame: pd.DataFrame, *layout: object) -> None:
        if entity is killed_at:
            raise KeyboardInterrupt(f"killed before {entity} was replaced")
        saved.append(entity)
        real_save(entity, frame, *layout)

    monkeypatch.setattr(store, "_save", killed_before_a_sheet)
    with pytest.raises(KeyboardInterrupt):
        writer.merge("acme", Entity.COMPANY, "A1", "A2")
    monkeypatch.setattr(store, "_save", real_save)
    half = _sheets(store)
    # The sheets saved before the kill hold half a merge (which ones depends on the order).
    assert all(not half[e].equals(before[e]) for e in saved)
    assert not ledger.audit_entries()

    merged = writer.merge("acme", Entity.COMPANY, "A1", "A2")
    fields = {(e.entity, e.record_id, e.field) for e in ledger.audit_entries(group_id=merged.group_id)}
    assert fields == {
        ("company", "A2", "status"), ("company", "A2", "merged_into"),
        ("contact", "C2", "company_id"), ("contact", "C3", "company_id"),
        ("employment", "E2", "company_id"), ("employment", "E3", "company_id"),
    }  # fmt: skip
    writer.unmerge(merged.group_id)
    after = _sheets(store)
    for entity, frame in before.items():
        pd.testing.assert_frame_equal(after[entity], frame, check_dtype=False)
    ledger.close()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(), st.integers(), st.floats(allow_nan=False)), max_size=30))
def test_values_are_encoded_in_bulk_exactly_as_one_by_one(values: list[object]) -> None:
    # The batch encodes old and new values for the ledger vectorized; the text must be the
    # codec's, or change ids, audit entries and undo would disagree with it.
    series = pd.Series(values, dtype=object)
    assert dumps_many(series).tolist() == [dumps(v) for v in values]


@pytest.mark.parametrize("killed_at", [Entity.COMPANY, Entity.CONTACT, Entity.EMPLOYMENT])
def test_an_unmerge_killed_between_two_sheet_replaces_is_completed_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, killed_at: Entity
) -> None:
    # An unmerge is a batch like any other: killed half way through a folder of sheets, the
    # next writer completes it from its intent, with its revert entries.
    store, ledger, writer = _sheet_folder(tmp_path)
    before = _sheets(store)
    merged = writer.merge("acme", Entity.COMPANY, "A1", "A2")
    real_save = store._save

    def killed_before_a_sheet(entity: Entity, frame: pd.DataFrame, *layout: object) -> None:
        if entity is killed_at:
            raise KeyboardInterrupt(f"killed before {entity} was replaced")
        real_save(entity, frame, *layout)

    monkeypatch.setattr(store, "_save", killed_before_a_sheet)
    with pytest.raises(KeyboardInterrupt):
        writer.unmerge(merged.group_id or "")
    monkeypatch.setattr(store, "_save", real_save)
    assert ledger.writes.open_batches("acme")

    with pytest.raises(StoreError, match="already undone"):
        writer.unmerge(merged.group_id or "")
    assert not ledger.writes.open_batches("acme")
    after = _sheets(store)
    for entity, frame in before.items():
        pd.testing.assert_frame_equal(after[entity], frame, check_dtype=False)
    applied = ledger.audit_entries(group_id=merged.group_id, action=AuditAction.APPLY)
    reverted = ledger.audit_entries(group_id=merged.group_id, action=AuditAction.REVERT)
    assert {e.change_id for e in reverted} == {e.change_id for e in applied}
    assert all(e.evidence["reverts"] is not None for e in reverted)
    ledger.close()


def _sheet_folder(tmp_path: Path) -> tuple[SpreadsheetRecordStore, Ledger, AuditedWriter]:
    """The seeded CRM as a folder of CSV sheets, a ledger and a writer on them."""
    store = SpreadsheetRecordStore(tmp_path / "crm_csv")
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    seed(store)
    return store, ledger, AuditedWriter(store, ledger, actor="revops@acme.com")


def _sheets(store: SpreadsheetRecordStore) -> dict[Entity, pd.DataFrame]:
    """Every sheet's rows, without what each write moves (version, updated_at)."""
    return {e: store.snapshot("acme", e).drop(columns=["version", "updated_at"]) for e in Entity}
