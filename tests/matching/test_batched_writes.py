"""The batched write path on the demo CRM, on SQLite, PostgreSQL and a folder of CSV sheets.

- Batches of thousands of merges give exactly what one merge at a time gives (store rows,
  audit log, review queue, proposal statuses), conflicts from edits made between the snapshot
  and the apply included.
- A process killed with SIGKILL between any two commits that matter (the intent, the store
  write, the audit, the statuses, one sheet and the next) converges on rerun to what an
  uninterrupted run writes: the same rows at the same versions (nothing applied twice), the
  same audit log, nothing left open.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from crm_hygiene import tables
from crm_hygiene.apply.audited import AuditedWriter
from crm_hygiene.apply.merges import apply_merge_proposals
from crm_hygiene.ledger.codec import dumps
from crm_hygiene.matching.decisions import AUTO
from crm_hygiene.matching.records import ENTITIES, EntityRecords
from crm_hygiene.matching.tenant import dedupe_tenant
from crm_hygiene.model import Entity
from crm_hygiene.model.field_changes import changed_at_frame
from crm_hygiene.model.snapshot import prepare_snapshot
from crm_hygiene.normalize.records import normalize_tenant
from crm_hygiene.pipeline.field_changes import update_field_changes
from crm_hygiene.policy import Policy, policy_hash
from crm_hygiene.stores import FieldChange
from crm_hygiene.warehouse import read_table, write_table
from tests.matching.dedupe_demo import TENANT, Crm, new_crm, records, twin_crm

POLICY = policy_hash(Policy())


def _writer(crm: Crm, run_id: str) -> AuditedWriter:
    return AuditedWriter(crm.store, crm.ledger, run_id=run_id, policy_version=POLICY)


@pytest.fixture(scope="module")
def proposals(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The first run's merge proposals on the demo (the same for every kind of store)."""
    crm = new_crm(tmp_path_factory.mktemp("proposals"))
    return dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-1").proposals


def _state(crm: Crm, *, keep_version: bool = False, evidence: bool = True) -> dict[str, object]:
    """What a write leaves behind: store rows, audit log, review queue, proposal statuses."""
    drop = ["updated_at"] if keep_version else ["updated_at", "version"]
    rows = {
        e.value: crm.store.snapshot(TENANT, e)
        .drop(columns=drop)
        .astype(str)
        .sort_values("id")
        .reset_index(drop=True)
        for e in Entity
    }
    audit = sorted(
        (
            e.change_id,
            e.entity,
            e.record_id,
            e.field,
            dumps(e.before),
            dumps(e.after),
            e.action.value,
            e.kind.value,
            e.group_id or "",
            dumps(e.evidence) if evidence else "",
        )
        for e in crm.ledger.audit_entries(tenant=TENANT)
    )
    queue = sorted(
        (i.change_id, i.reason, i.state.value) for i in crm.ledger.review_queue(TENANT, state=None)
    )
    statuses = sorted((p.change_id, p.status.value) for p in crm.ledger.proposals(TENANT))
    return {"rows": rows, "audit": audit, "queue": queue, "statuses": statuses}


def _assert_same(ours: dict[str, object], theirs: dict[str, object]) -> None:
    for entity, frame in ours["rows"].items():  # type: ignore[union-attr]
        pd.testing.assert_frame_equal(frame, theirs["rows"][entity], check_dtype=False)  # type: ignore[index]
    for key in ("audit", "queue", "statuses"):
        assert ours[key] == theirs[key], key


def _edit_between_snapshot_and_apply(crm: Crm, auto: pd.DataFrame) -> None:
    """Reps at work after the snapshot: a loser's phone corrected, and a survivor's field that
    survivorship would overwrite changed. Both merges must go to review, nothing else."""
    loser = auto.iloc[0]
    entity = Entity(loser["entity"])
    current = crm.store.read(TENANT, entity, [loser["loser_id"]]).iloc[0]
    # As a rep types it in a sheet (a leading "+" would make it a formula there).
    edits = [FieldChange(entity, loser["loser_id"], "phone", current["phone"], "020 7946 0000")]
    writes = auto[auto["field_values"].str.contains('"write": true')]
    survivor = writes[writes["survivor_id"] != loser["survivor_id"]].iloc[0]
    field = next(v["field"] for v in json.loads(survivor["field_values"]) if v["write"])
    entity = Entity(survivor["entity"])
    current = crm.store.read(TENANT, entity, [survivor["survivor_id"]]).iloc[0]
    edits.append(FieldChange(entity, survivor["survivor_id"], field, current[field], "edited by a rep"))
    for edit in edits:
        assert crm.store.apply_changes(TENANT, [edit]).ok


def test_batches_of_merges_write_exactly_what_one_merge_at_a_time_writes(
    any_crm: Crm, proposals: pd.DataFrame, tmp_path: Path
) -> None:
    one_by_one = twin_crm(any_crm, tmp_path)
    auto = proposals[proposals["decision"] == AUTO]
    for crm in (any_crm, one_by_one):
        _edit_between_snapshot_and_apply(crm, auto)
    batched = apply_merge_proposals(_writer(any_crm, "run-1"), proposals, tenant=TENANT)
    single = apply_merge_proposals(_writer(one_by_one, "run-1"), proposals, tenant=TENANT, merges_per_batch=1)
    assert batched.counts()["merged"] > 10
    assert batched.counts()["conflict"] == 2
    assert batched.table()[["change_id", "outcome", "detail"]].equals(
        single.table()[["change_id", "outcome", "detail"]]
    )
    _assert_same(_state(any_crm), _state(one_by_one))
    assert not any_crm.ledger.writes.open_batches(TENANT)


_KILLED = """
import os, signal, sys
import pandas as pd
from crm_hygiene import tables
from crm_hygiene.apply.audited import AuditedWriter
from crm_hygiene.apply.merges import apply_merge_proposals
from crm_hygiene.ledger import Ledger
from crm_hygiene.stores import open_store

crm_url, ledger_url, schema, proposals, tenant, policy, point = sys.argv[1:8]
ledger = Ledger.open(ledger_url, schema=schema or None)
store = open_store(crm_url, schema=schema or None)
writes = ledger.writes


def die(*args, **kwargs):
    # As a power cut or the OOM killer would: no cleanup, no rollback by Python.
    os.kill(os.getpid(), signal.SIGKILL)


def then_die(real):
    def wrapped(*args, **kwargs):
        real(*args, **kwargs)
        die()
    return wrapped


if point == "after_intent":
    writes.open_batch = then_die(writes.open_batch)
elif point == "after_store_write":
    writes.record_audit_rows = die
elif point == "after_audit":
    writes.record_audit_rows = then_die(writes.record_audit_rows)
elif point == "before_close":
    writes.close_batch = die
elif point == "between_sheets":
    real_save, saved = store._save, []

    def save(entity, frame, *layout):
        if saved:
            die()
        saved.append(entity)
        real_save(entity, frame, *layout)

    store._save = save
writer = AuditedWriter(store, ledger, run_id="run-1", policy_version=policy)
apply_merge_proposals(writer, pd.read_pickle(proposals), tenant=tenant)
"""

KILL_POINTS = ["after_intent", "after_store_write", "after_audit", "before_close", "between_sheets"]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_process_killed_between_two_commits_converges_on_rerun(
    any_crm: Crm, proposals: pd.DataFrame, tmp_path: Path, point: str
) -> None:
    crm = any_crm
    if point == "between_sheets" and not crm.crm_url.startswith("spreadsheet:"):
        pytest.skip("only a folder of sheets is replaced sheet by sheet")
    frame = tmp_path / "proposals.pkl"
    proposals.to_pickle(frame)
    args = [crm.crm_url, crm.ledger_url, crm.schema or "", str(frame), TENANT, POLICY, point]
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED, *args], capture_output=True, text=True, timeout=300
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert crm.ledger.writes.open_batches(TENANT), "the kill left the batch open"

    again = apply_merge_proposals(_writer(crm, "run-2"), proposals, tenant=TENANT)
    clean_crm = twin_crm(crm, tmp_path)
    clean = apply_merge_proposals(_writer(clean_crm, "run-1"), proposals, tenant=TENANT)
    assert again.counts()["merged"] == clean.counts()["merged"] > 10
    assert again.counts()["already_merged"] == 0
    # Same rows at the same versions: nothing was written twice. The audit log matches too
    # (its evidence may say `already_in_place`, which is the point of completing it).
    _assert_same(
        _state(crm, keep_version=True, evidence=False), _state(clean_crm, keep_version=True, evidence=False)
    )
    assert not crm.ledger.writes.open_batches(TENANT)
    group = again.group_ids[0]
    assert _writer(crm, "undo").unmerge(group).applied


def _tracked_records(crm: Crm, conn: duckdb.DuckDBPyConnection) -> dict[Entity, EntityRecords]:
    """Snapshot, field-change tracking and normalization, as the nightly job does them."""
    snapshots = {e: prepare_snapshot(e, crm.store.snapshot(TENANT, e)) for e in Entity}
    normalized = normalize_tenant(snapshots)
    out = {}
    for entity in ENTITIES:
        write_table(conn, TENANT, tables.snapshot(entity), snapshots[entity])
        update_field_changes(conn, TENANT, entity, crm.ledger)
        changed = changed_at_frame(read_table(conn, TENANT, tables.field_changes(entity)))
        out[entity] = EntityRecords(entity, snapshots[entity], normalized[entity].frame, changed)
    return out


def test_a_rerun_after_a_crash_chooses_the_same_survivor_values_as_an_uninterrupted_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Killed after the company merges reached the store: the re-pointed contacts' updated_at
    # moved, and the rerun's fresh snapshot took their values for the contacts' merges as the
    # latest edits (`most_recent`), where the uninterrupted run did not.
    crashed, clean = new_crm(tmp_path / "crashed"), new_crm(tmp_path / "clean")
    crashed_conn, clean_conn = duckdb.connect(), duckdb.connect()
    first = dedupe_tenant(clean.ledger, TENANT, _tracked_records(clean, clean_conn), run_id="run-1")
    apply_merge_proposals(_writer(clean, "run-1"), first.proposals, tenant=TENANT)

    found = dedupe_tenant(crashed.ledger, TENANT, _tracked_records(crashed, crashed_conn), run_id="run-1")
    pd.testing.assert_frame_equal(found.proposals, first.proposals)
    monkeypatch.setattr(crashed.ledger.writes, "record_audit_rows", _raise)
    with pytest.raises(RuntimeError, match="killed"):
        apply_merge_proposals(_writer(crashed, "run-1"), found.proposals, tenant=TENANT)
    monkeypatch.undo()
    again = dedupe_tenant(crashed.ledger, TENANT, _tracked_records(crashed, crashed_conn), run_id="run-2")
    # The contacts' merges, auto and for review, carry the same survivor values as before.
    theirs = first.proposals.query("entity == 'contact'").set_index("change_id")["field_values"]
    ours = again.proposals.query("entity == 'contact'").set_index("change_id")["field_values"]
    assert len(ours) > 10
    pd.testing.assert_series_equal(ours.sort_index(), theirs.sort_index())
    apply_merge_proposals(_writer(crashed, "run-2"), again.proposals, tenant=TENANT)

    contacts = [
        crm.store.snapshot(TENANT, Entity.CONTACT).drop(columns=["version", "updated_at"]).sort_values("id")
        for crm in (crashed, clean)
    ]
    merged = contacts[1]["status"].eq("merged").sum()
    assert merged > 10
    pd.testing.assert_frame_equal(contacts[0].reset_index(drop=True), contacts[1].reset_index(drop=True))


def _raise(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("killed after the store write")
