"""The audit log: append-only, idempotent per (change, action, group), and the source of truth
for which changes are in effect."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from crm_hygiene.ledger import AuditAction, AuditEntry, Ledger


def test_recording_the_same_apply_twice_keeps_one_row(
    ledger: Ledger, make_audit: Callable[..., AuditEntry]
) -> None:
    entry = make_audit("change-1")
    assert ledger.record_audit([entry, entry]) == 1
    assert ledger.record_audit([entry]) == 0
    assert len(ledger.audit_entries(change_id="change-1")) == 1
    assert ledger.counts("acme")["audit_entries"] == 1


def test_none_and_empty_group_are_the_same_group(
    ledger: Ledger, make_audit: Callable[..., AuditEntry]
) -> None:
    assert ledger.record_audit([make_audit("change-1", group_id=None)]) == 1
    assert ledger.record_audit([make_audit("change-1", group_id="")]) == 0
    assert ledger.record_audit([make_audit("change-1", group_id="merge-7")]) == 1
    assert [e.group_id for e in ledger.audit_entries(change_id="change-1")] == [None, "merge-7"]


def test_entries_round_trip_and_get_a_utc_timestamp(
    ledger: Ledger, make_audit: Callable[..., AuditEntry]
) -> None:
    before_write = datetime.now(UTC) - timedelta(seconds=1)
    entry = make_audit("change-1", before=None, after="", evidence={"weights": {"email": 4.2}})
    ledger.record_audit([entry])
    [stored] = ledger.audit_entries(change_id="change-1")
    assert stored.id is not None
    assert stored.applied_at is not None and stored.applied_at >= before_write
    assert stored.applied_at.utcoffset() == timedelta(0)
    assert stored.before is None and stored.after == ""
    assert stored == AuditEntry(**{**entry.__dict__, "applied_at": stored.applied_at, "id": stored.id})


def test_given_applied_at_is_kept(ledger: Ledger, make_audit: Callable[..., AuditEntry]) -> None:
    applied_at = datetime(2024, 3, 2, 1, 0, tzinfo=UTC)
    ledger.record_audit([make_audit("change-1", applied_at=applied_at)])
    assert ledger.audit_entries()[0].applied_at == applied_at


def test_filters_combine_and_results_are_in_write_order(
    ledger: Ledger, make_audit: Callable[..., AuditEntry]
) -> None:
    ledger.record_audit(
        [
            make_audit("change-1", run_id="run-1"),
            make_audit("change-2", run_id="run-1", group_id="merge-1"),
            make_audit("change-3", run_id="run-2", group_id="merge-1", tenant="globex"),
        ]
    )
    ledger.record_audit(
        [make_audit("change-1", action="revert", group_id="undo-1", kind="revert", run_id="run-3")]
    )

    def ids(**filters: str) -> list[str]:
        return [e.change_id for e in ledger.audit_entries(**filters)]

    assert ids() == ["change-1", "change-2", "change-3", "change-1"]
    assert ids(tenant="acme") == ["change-1", "change-2", "change-1"]
    assert ids(run_id="run-1") == ["change-1", "change-2"]
    assert ids(group_id="merge-1") == ["change-2", "change-3"]
    assert ids(group_id="merge-1", tenant="acme") == ["change-2"]
    assert ids(action="revert") == ["change-1"]
    assert ids(change_id="change-1", action=AuditAction.APPLY) == ["change-1"]
    entries = ledger.audit_entries()
    assert [e.id for e in entries] == sorted(e.id for e in entries)


def test_applied_change_ids_follow_apply_revert_and_reapply(
    ledger: Ledger, make_audit: Callable[..., AuditEntry]
) -> None:
    ledger.record_audit([make_audit("change-1"), make_audit("change-2")])
    assert ledger.applied_change_ids(["change-1", "change-2", "never-applied"]) == {"change-1", "change-2"}

    ledger.record_audit([make_audit("change-1", action="revert", group_id="undo-run-1", kind="revert")])
    assert ledger.applied_change_ids(["change-1", "change-2"]) == {"change-2"}

    # Applying again after the revert needs its own group (e.g. the run that re-applies it).
    ledger.record_audit([make_audit("change-1", group_id="run-9")])
    assert ledger.applied_change_ids(["change-1", "change-2"]) == {"change-1", "change-2"}
    assert ledger.applied_change_ids([]) == set()


def test_applied_change_ids_handles_more_ids_than_one_query_takes(
    ledger: Ledger, make_audit: Callable[..., AuditEntry]
) -> None:
    ids = [f"change-{i}" for i in range(1_300)]
    assert ledger.record_audit(make_audit(change_id) for change_id in ids) == 1_300
    reverted = ids[::2]
    ledger.record_audit(make_audit(change_id, action="revert", kind="revert") for change_id in reverted)
    assert ledger.applied_change_ids(iter(ids)) == set(ids[1::2])
