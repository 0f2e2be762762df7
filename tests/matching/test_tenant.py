"""Deduplication of one tenant without Dagster: models, pairs, clusters, proposals and merges.

Runs on a small demo CRM in a real SQLite store and ledger (see `dedupe_demo`), so the merges
go through the audited writer exactly as the nightly job applies them.
"""

from __future__ import annotations

import itertools
import json
import logging
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pandera.errors
import pytest

from crm_hygiene.apply.audited import AuditedWriter
from crm_hygiene.apply.merges import apply_merge_proposals
from crm_hygiene.ledger import (
    AuditAction,
    ChangeKind,
    DecisionKind,
    Ledger,
    Proposal,
    ProposalStatus,
    ReviewState,
)
from crm_hygiene.matching.decisions import AUTO, REVIEW
from crm_hygiene.matching.labels import reviewer_labels
from crm_hygiene.matching.model_store import model_for
from crm_hygiene.matching.pairs import empty_pair_table, records_to_rescore
from crm_hygiene.matching.proposals import build_merge_proposals, merge_change_id, send_to_review
from crm_hygiene.matching.records import ENTITIES, EntityRecords
from crm_hygiene.matching.schemas import merge_proposals_schema
from crm_hygiene.matching.tenant import dedupe_tenant
from crm_hygiene.model import Entity, Status
from crm_hygiene.model.snapshot import prepare_snapshot
from crm_hygiene.normalize.records import normalize_tenant
from crm_hygiene.policy import Policy, policy_hash
from crm_hygiene.stores import FieldChange, SqlRecordStore
from tests.matching.dedupe_demo import (
    TENANT,
    Crm,
    demo,
    duplicate_of,
    merged_precision,
    new_crm,
    records,
    trained,
    twin_crm,
)

DEFAULT_POLICY_VERSION = policy_hash(Policy())
AUTO_MERGE_THRESHOLD = Policy().merge.auto_merge_threshold
MAX_AUTO_CLUSTER_SIZE = Policy().merge.max_auto_cluster_size


def _writer(crm: Crm, run_id: str) -> AuditedWriter:
    return AuditedWriter(crm.store, crm.ledger, run_id=run_id, policy_version=DEFAULT_POLICY_VERSION)


@pytest.fixture
def crm(tmp_path: Path) -> Crm:
    return new_crm(tmp_path)


# --- the model --------------------------------------------------------------------------------------


def test_a_model_is_trained_and_stored_once_then_reused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    crm = new_crm(tmp_path, models=False)
    frame = records(crm.store)[Entity.COMPANY].normalized
    with caplog.at_level(logging.INFO, logger="crm_hygiene.matching.model_store"):
        first = model_for(crm.ledger.registry, TENANT, Entity.COMPANY, frame)
    assert first.trained_now and first.version == 1 and first.model is not None
    assert "trained and stored version 1" in caplog.text and "no stored model" in caplog.text
    again = model_for(crm.ledger.registry, TENANT, Entity.COMPANY, frame)
    assert not again.trained_now and again.version == 1
    assert again.model is not None and again.model.to_dict() == first.model.to_dict()


def test_a_model_trained_with_other_settings_is_replaced(crm: Crm, caplog: pytest.LogCaptureFixture) -> None:
    stale = trained(Entity.COMPANY).to_dict() | {"settings_fingerprint": "0000000000000000"}
    crm.ledger.registry.save_match_model(
        TENANT, "company", stale, settings_fingerprint="0000000000000000", trained_on=80
    )
    frame = records(crm.store)[Entity.COMPANY].normalized
    with caplog.at_level(logging.INFO, logger="crm_hygiene.matching.model_store"):
        choice = model_for(crm.ledger.registry, TENANT, Entity.COMPANY, frame)
    assert choice.trained_now and choice.version == 3
    assert "settings changed since version 2" in caplog.text


# --- a nightly run ----------------------------------------------------------------------------------


def test_a_run_merges_precisely_with_audit_entries_and_queues_the_rest(crm: Crm) -> None:
    found = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-1")
    proposals = found.proposals
    merge_proposals_schema(TENANT).validate(proposals, lazy=True)
    assert set(proposals["decision"]) == {AUTO, REVIEW}
    assert (proposals.loc[proposals["decision"] == AUTO, "weakest_probability"] >= AUTO_MERGE_THRESHOLD).all()
    assert proposals["explanation"].str.contains(r"\(\+\d", regex=True).all()
    # Companies come first: their merges decide where the contacts' company links point.
    assert proposals["entity"].tolist() == sorted(proposals["entity"], key=lambda e: e != "company")
    assert found.pairs[Entity.CONTACT].mode == "full"

    outcome = apply_merge_proposals(_writer(crm, "run-1"), proposals, tenant=TENANT)
    counts = outcome.counts()
    assert counts["merged"] == (proposals["decision"] == AUTO).sum() > 0
    assert counts["queued_for_review"] == (proposals["decision"] == REVIEW).sum() > 0
    assert counts["conflict"] == 0

    for entity in (Entity.COMPANY, Entity.CONTACT):
        scores = merged_precision(crm.store, entity)
        assert scores.precision >= 0.99, (entity, scores)
        assert scores.predicted_pairs > 0

    entries = crm.ledger.audit_entries(run_id="run-1", action=AuditAction.APPLY)
    assert len(entries) == counts["audit_entries"]
    assert {e.kind for e in entries} == {ChangeKind.MERGE}
    assert {e.policy_version for e in entries} == {DEFAULT_POLICY_VERSION}
    for entry in entries:
        assert 0.99 <= entry.evidence["match_probability"] <= 1.0
        assert entry.evidence["explanation"]
    heads = [e for e in entries if e.field == "merged_into"]
    assert {e.change_id for e in heads} == set(outcome.change_ids("merged"))
    # Survivorship values are written with the merge, in its group.
    assert any(
        e.field not in ("status", "merged_into", "company_id", "contact_id", "reports_to") for e in entries
    )

    queue = {item.change_id: item for item in crm.ledger.review_queue(TENANT)}
    for change_id in outcome.change_ids("queued_for_review"):
        assert queue[change_id].reason.startswith("merge review: ")
    queued = crm.ledger.proposals(TENANT, change_ids=list(queue))
    assert {p.status for p in queued} == {ProposalStatus.QUEUED}
    assert all(p.evidence["explanation"] and p.confidence >= 0.5 for p in queued)


def test_contacts_follow_their_company_merge(crm: Crm) -> None:
    found = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-1")
    apply_merge_proposals(_writer(crm, "run-1"), found.proposals, tenant=TENANT)
    companies = crm.store.snapshot(TENANT, Entity.COMPANY)
    merged = set(companies.loc[companies["status"] == Status.MERGED.value, "id"])
    assert merged
    for entity in (Entity.CONTACT, Entity.EMPLOYMENT):
        assert not crm.store.snapshot(TENANT, entity)["company_id"].isin(merged).any(), entity


def test_a_rejected_merge_is_never_proposed_again(crm: Crm) -> None:
    first = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-1")
    two = first.proposals[(first.proposals["entity"] == "contact") & (first.proposals["cluster_size"] == 2)]
    rejected = two.iloc[0]
    # A reviewer sees the merge and says no.
    asked = send_to_review(first.proposals, [rejected["change_id"]], "asked a person")
    apply_merge_proposals(
        _writer(crm, "run-1"), asked[asked["change_id"] == rejected["change_id"]], tenant=TENANT
    )
    crm.ledger.record_decision(
        rejected["change_id"], DecisionKind.REJECT, "revops@acme.com", note="two people"
    )

    second = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-2", previous=first)
    assert second.learned_do_not_link == 1
    pair = sorted([rejected["survivor_id"], rejected["loser_id"]])
    pairs = second.pairs[Entity.CONTACT].pairs
    assert not ((pairs["unique_id_l"] == pair[0]) & (pairs["unique_id_r"] == pair[1])).any()
    again = second.proposals
    assert not again["loser_id"].isin(pair).any() and not again["survivor_id"].isin(pair).any()
    assert (
        crm.ledger.proposals(TENANT, change_ids=[rejected["change_id"]])[0].status is ProposalStatus.REJECTED
    )
    # Proposals built before the decision are checked again when applied: still not merged.
    outcome = apply_merge_proposals(_writer(crm, "run-2"), first.proposals, tenant=TENANT)
    assert rejected["change_id"] in outcome.change_ids("skipped_do_not_link")
    assert crm.store.read(TENANT, Entity.CONTACT, [rejected["loser_id"]]).iloc[0]["status"] == "active"
    # Learned once: a third run adds nothing.
    third = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-3", previous=second)
    assert third.learned_do_not_link == 0


def test_an_incremental_run_scores_only_new_and_changed_records_and_finds_a_new_duplicate(crm: Crm) -> None:
    first = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-1")
    apply_merge_proposals(_writer(crm, "run-1"), first.proposals, tenant=TENANT)
    contacts = crm.store.snapshot(TENANT, Entity.CONTACT)
    original = contacts.loc[(contacts["status"] == "active") & contacts["email"].notna(), "id"].iloc[10]
    crm.store.insert_records(TENANT, Entity.CONTACT, duplicate_of(crm.store, original, "C9999999"))

    second = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-2", previous=first)
    found = second.pairs[Entity.CONTACT]
    assert found.mode == "incremental"
    # The new record and the survivors the first run's merges wrote to, nothing else.
    assert 1 <= found.scored_records < found.live_records / 4
    assert found.carried_pairs > 0
    new = second.proposals[
        second.proposals["loser_id"].eq("C9999999") | second.proposals["survivor_id"].eq("C9999999")
    ]
    assert len(new) == 1 and new.iloc[0]["decision"] == AUTO
    assert {new.iloc[0]["loser_id"], new.iloc[0]["survivor_id"]} == {"C9999999", original}
    outcome = apply_merge_proposals(_writer(crm, "run-2"), second.proposals, tenant=TENANT)
    assert outcome.counts()["merged"] == 1
    assert crm.store.read(TENANT, Entity.CONTACT, ["C9999999"]).iloc[0]["merged_into"] == original

    # Nothing changed since: the next run scores nothing and proposes only what waits for review.
    third = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-3", previous=second)
    assert third.pairs[Entity.CONTACT].mode == "incremental"
    # At most the survivor of the last merge, had it taken a value from the copy.
    assert third.pairs[Entity.CONTACT].scored_records <= 1
    assert set(third.proposals["decision"]) <= {REVIEW}


def test_a_full_run_on_demand_scores_everything(crm: Crm) -> None:
    first = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-1")
    again = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-2", previous=first, full=True)
    assert again.pairs[Entity.CONTACT].mode == "full"
    assert again.pairs[Entity.CONTACT].scored_records == again.pairs[Entity.CONTACT].live_records
    pd.testing.assert_frame_equal(
        again.pairs[Entity.CONTACT].pairs.drop(columns="carried"),
        first.pairs[Entity.CONTACT].pairs.drop(columns="carried"),
    )
    pd.testing.assert_frame_equal(again.proposals, first.proposals)


# --- applying ---------------------------------------------------------------------------------------


def test_a_survivor_edited_since_the_snapshot_goes_to_review_as_a_conflict(crm: Crm) -> None:
    found = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-1")
    auto = found.proposals[found.proposals["decision"] == AUTO]
    writes = auto[auto["field_values"].map(lambda text: any(v["write"] for v in json.loads(text)))]
    row = writes.iloc[0]
    name = next(v["field"] for v in json.loads(row["field_values"]) if v["write"])
    entity = Entity(row["entity"])
    current = crm.store.read(TENANT, entity, [row["survivor_id"]]).iloc[0]
    crm.store.apply_changes(
        TENANT, [FieldChange(entity, row["survivor_id"], name, current[name], "edited by a rep")]
    )
    outcome = apply_merge_proposals(
        _writer(crm, "run-1"), auto[auto["change_id"] == row["change_id"]], tenant=TENANT
    )
    assert outcome.change_ids("conflict") == [row["change_id"]]
    assert crm.store.read(TENANT, entity, [row["loser_id"]]).iloc[0]["status"] == "active"
    assert crm.store.read(TENANT, entity, [row["survivor_id"]]).iloc[0][name] == "edited by a rep"
    item = next(i for i in crm.ledger.review_queue(TENANT) if i.change_id == row["change_id"])
    assert item.state is ReviewState.OPEN and "edited since the snapshot" in item.reason


@pytest.mark.parametrize("written", ["tbd", "02/10/2026"], ids=["unreadable", "day first"])
def test_a_survivor_timestamp_the_snapshot_could_not_keep_as_written_is_no_edit(
    crm: Crm, written: str
) -> None:
    # "tbd" (or "02/10/2026" where the day comes first) is typed in the snapshot (as nothing,
    # or as an instant) and kept as written in raw_values. The merge expected the typed value,
    # found the text, and sent every such merge to review as "edited since the snapshot",
    # run after run (30 merges at 200,000 demo contacts).
    found = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-1")
    auto = found.proposals[found.proposals["decision"] == AUTO]
    stamps = auto[
        auto["field_values"].str.contains('"field": "last_activity_at"') & (auto["entity"] == "contact")
    ]
    survivors = crm.store.read(TENANT, Entity.CONTACT, stamps["survivor_id"].tolist()).set_index("id")
    local = survivors[~survivors["country"].isin(["US", "United States", "USA"])]
    survivor = local.index[0]
    current = local.loc[survivor, "last_activity_at"]
    assert crm.store.apply_changes(
        TENANT, [FieldChange(Entity.CONTACT, survivor, "last_activity_at", current, written)]
    ).ok
    again = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-2").proposals
    row = again[(again["survivor_id"] == survivor) & (again["decision"] == AUTO)].iloc[:1]
    values = {v["field"]: v for v in json.loads(row["field_values"].iloc[0])}
    assert values["last_activity_at"]["old"] == written
    outcome = apply_merge_proposals(_writer(crm, "run-2"), row, tenant=TENANT)
    assert outcome.change_ids("merged") == row["change_id"].tolist(), outcome.table()["detail"].tolist()


def test_merges_never_cross_tenants(crm: Crm) -> None:
    found = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-1")
    foreign = found.proposals.copy()
    foreign.loc[0, "tenant"] = "globex"
    with pytest.raises(ValueError, match="globex"):
        apply_merge_proposals(_writer(crm, "run-1"), foreign, tenant=TENANT)
    with pytest.raises(pandera.errors.SchemaErrors):
        merge_proposals_schema(TENANT).validate(foreign, lazy=True)
    assert crm.ledger.audit_entries(run_id="run-1") == []


def test_rerunning_the_apply_step_applies_nothing_twice(crm: Crm) -> None:
    found = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-1")
    first = apply_merge_proposals(_writer(crm, "run-1"), found.proposals, tenant=TENANT)
    entries = len(crm.ledger.audit_entries())
    again = apply_merge_proposals(_writer(crm, "run-1"), found.proposals, tenant=TENANT)
    assert again.counts()["merged"] == 0
    assert again.counts()["already_merged"] == first.counts()["merged"]
    assert again.counts()["newly_queued"] == 0
    assert len(crm.ledger.audit_entries()) == entries


# --- decision rules, on hand-made pairs -------------------------------------------------------------


def _pairs(entity: Entity, rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = empty_pair_table(entity)
    made = pd.DataFrame(rows, columns=["unique_id_l", "unique_id_r", "match_probability"])
    made["explanation"] = "same email (+12.0)"
    made["model_version"] = 1
    return pd.concat([frame, made], ignore_index=True)[frame.columns.intersection(made.columns)]


def _clusters(groups: list[list[str]]) -> pd.DataFrame:
    rows = [(rid, g[0], len(g)) for g in groups for rid in g]
    frame = pd.DataFrame(rows, columns=["record_id", "review_cluster", "review_size"])
    frame["entity_id"] = "E" + frame["review_cluster"]
    return frame


@pytest.fixture(scope="module")
def company_records() -> EntityRecords:
    snapshots = {e: prepare_snapshot(e, demo().records[e]) for e in Entity}
    frame = normalize_tenant(snapshots)[Entity.COMPANY].frame
    return EntityRecords(Entity.COMPANY, snapshots[Entity.COMPANY], frame)


def test_auto_only_when_every_pair_of_the_cluster_is_sure(company_records: EntityRecords) -> None:
    pairs = _pairs(
        Entity.COMPANY,
        [("A0000001", "A0000002", 0.999), ("A0000003", "A0000004", 0.999), ("A0000004", "A0000005", 0.7)],
    )
    clusters = _clusters([["A0000001", "A0000002"], ["A0000003", "A0000004", "A0000005"]])
    proposals = build_merge_proposals(TENANT, company_records, pairs, clusters)
    decided = proposals.groupby("cluster")["decision"].agg(set).to_dict()
    assert decided == {"A0000001": {AUTO}, "A0000003": {REVIEW}}
    weak = proposals[proposals["cluster"] == "A0000003"]
    assert (weak["weakest_probability"] == 0.7).all()
    assert weak["reason"].str.contains("below the auto-merge threshold").all()
    assert proposals["change_id"].tolist() == [
        merge_change_id(TENANT, "company", s, loser)
        for s, loser in zip(proposals["survivor_id"], proposals["loser_id"], strict=True)
    ]


def test_a_do_not_link_pair_is_not_proposed_and_sends_its_cluster_to_review(
    company_records: EntityRecords,
) -> None:
    # 1-2 and 2-3 are sure, but a reviewer kept 1 and 3 apart: the chain must not merge them unseen.
    pairs = _pairs(Entity.COMPANY, [("A0000001", "A0000002", 0.999), ("A0000002", "A0000003", 0.999)])
    clusters = _clusters([["A0000001", "A0000002", "A0000003"]])
    dnl = pd.DataFrame({"record_id_l": ["A0000001"], "record_id_r": ["A0000003"]})
    proposals = build_merge_proposals(TENANT, company_records, pairs, clusters, do_not_link=dnl)
    assert set(proposals["decision"]) == {REVIEW}
    assert proposals["reason"].str.contains("do-not-link").all()
    for survivor, loser in zip(proposals["survivor_id"], proposals["loser_id"], strict=True):
        assert {survivor, loser} != {"A0000001", "A0000003"}


def test_large_clusters_and_undone_merges_go_to_review(company_records: EntityRecords) -> None:
    ids = [f"A{n:07d}" for n in range(1, MAX_AUTO_CLUSTER_SIZE + 3)]
    pairs = _pairs(Entity.COMPANY, [(a, b, 0.999) for a, b in itertools.pairwise(ids)])
    big = build_merge_proposals(TENANT, company_records, pairs, _clusters([ids]))
    assert set(big["decision"]) == {REVIEW} and big["reason"].str.contains("too large").all()

    pairs = _pairs(Entity.COMPANY, [("A0000001", "A0000002", 0.999)])
    small = build_merge_proposals(TENANT, company_records, pairs, _clusters([["A0000001", "A0000002"]]))
    assert small["decision"].tolist() == [AUTO]
    undone = send_to_review(small, small["change_id"], "a person undid this merge before")
    assert undone["decision"].tolist() == [REVIEW]
    assert undone["reason"].tolist() == ["a person undid this merge before"]


def test_records_to_rescore() -> None:
    live = pd.DataFrame(
        {
            "id": ["C1", "C2", "C3", "C4"],
            "version": pd.array([1, 3, 1, 1], dtype="Int64"),
            "updated_at": pd.to_datetime(["2026-01-01", "2026-03-01", "2026-01-01", "2026-01-01"], utc=True),
        }
    )
    assignments = pd.DataFrame(
        {
            "record_id": ["C1", "C2", "C3"],
            "entity_id": ["E1", "E2", "E3"],
            "assigned_at": pd.to_datetime(["2026-02-01"] * 3, utc=True),
        }
    )
    previous = pd.DataFrame({"record_id": ["C1", "C2"], "version": [1, 2]})
    # C2 was edited (version 3), C3 is missing from the last run's table, C4 is new.
    assert records_to_rescore(live, assignments, previous).tolist() == [False, True, True, True]
    # Without the last run's table, updated_at after the last assignment counts as changed.
    assert records_to_rescore(live, assignments).tolist() == [False, True, False, True]
    assert records_to_rescore(live, assignments.iloc[0:0]).all()


# --- bad input ---------------------------------------------------------------------------------------


def _tenant(tmp_path: Path, contacts: pd.DataFrame, companies: pd.DataFrame) -> Crm:
    """A tenant "tiny" holding only the given records, and an empty ledger."""
    crm_url, ledger_url = f"sqlite:///{tmp_path / 'tiny.sqlite'}", f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    store = SqlRecordStore(crm_url)
    if len(companies):
        store.insert_records("tiny", Entity.COMPANY, companies)
    if len(contacts):
        store.insert_records("tiny", Entity.CONTACT, contacts)
    return Crm(store, Ledger.open(ledger_url), crm_url, ledger_url)


BLANK_CONTACTS = pd.DataFrame({"id": [f"C{n}" for n in range(120)]})
ONE_CONTACT = pd.DataFrame(
    {"id": ["C1"], "first_name": ["Ann"], "last_name": ["Lee"], "email": ["ann@acme.com"]}
)
NO_RECORDS = pd.DataFrame({"id": pd.Series([], dtype=object)})


@pytest.mark.parametrize(
    ("contacts", "companies"),
    [
        (NO_RECORDS, NO_RECORDS),
        (ONE_CONTACT, NO_RECORDS),
        (BLANK_CONTACTS, pd.DataFrame({"id": ["A1", "A2"]})),
    ],
    ids=["zero records", "one record", "all-null match columns"],
)
@pytest.mark.parametrize("stored_model", [True, False], ids=["stored model", "no model"])
def test_bad_input_does_not_crash(
    tmp_path: Path, contacts: pd.DataFrame, companies: pd.DataFrame, stored_model: bool
) -> None:
    crm = _tenant(tmp_path, contacts, companies)
    if stored_model:
        for entity in (Entity.CONTACT, Entity.COMPANY):
            model = trained(entity)
            crm.ledger.registry.save_match_model(
                "tiny",
                entity.value,
                model.to_dict(),
                settings_fingerprint=model.settings_fingerprint,
                trained_on=1,
            )
    found = dedupe_tenant(crm.ledger, "tiny", records(crm.store, "tiny"), run_id="run-1")
    assert found.proposals.empty
    for entity, result in found.pairs.items():
        assert result.pairs.empty
        assert result.mode == ("full" if stored_model else "skipped"), (entity, result.note)
        if not stored_model:
            assert "too few to train on" in result.note or "training failed" in result.note
        assert len(found.clusters[entity]) == result.live_records
    outcome = apply_merge_proposals(_writer(crm, "run-1"), found.proposals, tenant="tiny")
    assert outcome.counts()["merged"] == 0


def test_training_on_all_null_match_columns_fails_softly(tmp_path: Path) -> None:
    crm = _tenant(tmp_path, BLANK_CONTACTS, NO_RECORDS)
    frame = records(crm.store, "tiny")[Entity.CONTACT].normalized
    choice = model_for(crm.ledger.registry, "tiny", Entity.CONTACT, frame)
    assert choice.model is None and "training failed" in choice.note
    assert crm.ledger.registry.load_match_model("tiny", "contact") is None


def test_clusters_holding_a_record_on_the_never_merge_list_go_to_review(crm: Crm) -> None:
    found = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="probe")
    auto = found.proposals[found.proposals["decision"] == AUTO]
    blocked = str(auto["loser_id"].iloc[0])
    entity, cluster = auto.loc[auto["loser_id"] == blocked, ["entity", "cluster"]].iloc[0]
    policy = Policy.model_validate({"lists": {"never_merge_records": [blocked]}})
    again = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="again", policy=policy)
    proposals = again.proposals
    held = proposals[(proposals["entity"] == entity) & (proposals["cluster"] == cluster)]
    assert len(held) and (held["decision"] == REVIEW).all()
    assert held["reason"].str.contains("never-merge list").all()
    # Every other automatic merge stands, and each row names the policy that judged it.
    others = set(auto.loc[auto["cluster"] != cluster, "change_id"])
    assert others <= set(proposals.loc[proposals["decision"] == AUTO, "change_id"])
    assert set(proposals["policy_version"]) == {policy_hash(policy)}


def test_reviewer_decisions_are_pairwise_labels(crm: Crm) -> None:
    first = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-1")
    two = first.proposals[(first.proposals["entity"] == "contact") & (first.proposals["cluster_size"] == 2)]
    approved, rejected = two.iloc[0], two.iloc[1]
    asked = send_to_review(first.proposals, [approved["change_id"], rejected["change_id"]], "asked a person")
    apply_merge_proposals(_writer(crm, "run-1"), asked, tenant=TENANT)
    crm.ledger.record_decision(approved["change_id"], DecisionKind.APPROVE, "revops@acme.com")
    crm.ledger.record_decision(
        rejected["change_id"], DecisionKind.REJECT, "revops@acme.com", note="two people"
    )
    crm.ledger.registry.add_do_not_link(
        TENANT, "contact", [("zz-2", "zz-1")], reason="known namesakes", decided_by="revops@acme.com"
    )
    labels = reviewer_labels(crm.ledger, TENANT, Entity.CONTACT)
    by_pair = {(row.record_id_l, row.record_id_r): row.match for row in labels.itertuples()}
    assert by_pair[tuple(sorted([approved["survivor_id"], approved["loser_id"]]))] == 1
    assert by_pair[tuple(sorted([rejected["survivor_id"], rejected["loser_id"]]))] == 0
    assert by_pair[("zz-1", "zz-2")] == 0
    # Merges applied without a reviewer are no labels.
    assert len(labels) == 3
    assert reviewer_labels(crm.ledger, TENANT, Entity.COMPANY).empty


# --- the write path under faults, on every store ------------------------------------------------


def test_a_crash_between_the_store_write_and_the_audit_is_completed_by_the_rerun(
    any_crm: Crm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kill point: the store committed the first merge, the audit write never happened.
    # The rerun found the merge in the store and said `already_merged` without auditing it,
    # its proposals stayed `proposed`, and `unmerge` failed with "no merge in the audit log".
    crm = any_crm
    found = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-1")
    uninterrupted = twin_crm(crm, tmp_path)
    clean = apply_merge_proposals(_writer(uninterrupted, "run-1"), found.proposals, tenant=TENANT)
    assert clean.counts()["merged"] > 1

    real = crm.ledger.writes.record_audit_rows

    def killed(rows: object, **_kwargs: object) -> None:
        raise RuntimeError("killed after the store write")

    monkeypatch.setattr(crm.ledger.writes, "record_audit_rows", killed)
    with pytest.raises(RuntimeError, match="killed"):
        apply_merge_proposals(_writer(crm, "run-1"), found.proposals, tenant=TENANT)
    monkeypatch.setattr(crm.ledger.writes, "record_audit_rows", real)
    first = next(c for c in found.proposals["change_id"] if crm.ledger.proposals(TENANT, change_ids=[c]))
    assert not crm.ledger.audit_entries(change_id=first)  # the store holds a merge nobody audited

    again = apply_merge_proposals(_writer(crm, "run-2"), found.proposals, tenant=TENANT)
    assert again.counts()["merged"] == clean.counts()["merged"]
    assert again.counts()["already_merged"] == 0
    audited = crm.ledger.audit_entries(action=AuditAction.APPLY)
    assert len(audited) == len(uninterrupted.ledger.audit_entries(action=AuditAction.APPLY))
    completed = [e for e in audited if e.group_id == again.group_ids[0]]
    assert completed and all(e.evidence.get("already_in_place") for e in completed)
    # The killed batch (every company merge: companies go first) is completed as a whole.
    companies = clean.table().query("entity == 'company' and outcome == 'merged'")
    assert again.table()["detail"].str.startswith("completed").sum() == len(companies)
    assert not crm.ledger.proposals(TENANT, kind=ChangeKind.MERGE, status=ProposalStatus.PROPOSED)
    for entity in (Entity.COMPANY, Entity.CONTACT, Entity.EMPLOYMENT):
        ours = crm.store.snapshot(TENANT, entity).drop(columns=["updated_at", "version"])
        theirs = uninterrupted.store.snapshot(TENANT, entity).drop(columns=["updated_at", "version"])
        pd.testing.assert_frame_equal(ours.reset_index(drop=True), theirs.reset_index(drop=True))
    # The completed merge can be undone like any other.
    undone = _writer(crm, "undo").unmerge(again.group_ids[0])
    assert undone.applied


_KILLED_AFTER_THE_STORE_WRITE = """
import os, signal, sys
import pandas as pd
from crm_hygiene.apply.audited import AuditedWriter
from crm_hygiene.apply.merges import apply_merge_proposals
from crm_hygiene.ledger import Ledger
from crm_hygiene.stores import open_store

crm_url, ledger_url, schema, proposals, tenant, policy = sys.argv[1:7]
ledger = Ledger.open(ledger_url, schema=schema or None)
# SIGKILL, as a power cut or the OOM killer would: the store has committed, the audit not.
ledger.writes.record_audit_rows = lambda rows, **_kwargs: os.kill(os.getpid(), signal.SIGKILL)
store = open_store(crm_url, schema=schema or None)
writer = AuditedWriter(store, ledger, run_id="run-1", policy_version=policy)
apply_merge_proposals(writer, pd.read_pickle(proposals), tenant=tenant)
"""


def test_a_process_killed_after_the_store_write_is_completed_by_the_rerun(
    any_crm: Crm, tmp_path: Path
) -> None:
    crm = any_crm
    found = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-1")
    frame = tmp_path / "proposals.pkl"
    found.proposals.to_pickle(frame)
    args = [crm.crm_url, crm.ledger_url, crm.schema or "", str(frame), TENANT, DEFAULT_POLICY_VERSION]
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_AFTER_THE_STORE_WRITE, *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    merged_away = sum(crm.store.snapshot(TENANT, entity)["merged_into"].notna().sum() for entity in ENTITIES)
    assert merged_away >= 1 and not crm.ledger.audit_entries()

    again = apply_merge_proposals(_writer(crm, "run-2"), found.proposals, tenant=TENANT)
    uninterrupted = twin_crm(crm, tmp_path)
    clean = apply_merge_proposals(_writer(uninterrupted, "run-1"), found.proposals, tenant=TENANT)
    assert again.counts()["merged"] == clean.counts()["merged"]
    assert len(crm.ledger.audit_entries(action=AuditAction.APPLY)) == len(
        uninterrupted.ledger.audit_entries(action=AuditAction.APPLY)
    )
    _writer(crm, "undo").unmerge(again.group_ids[0])


def _loser_case(crm: Crm) -> tuple[pd.DataFrame, pd.Series]:
    found = dedupe_tenant(crm.ledger, TENANT, records(crm.store), run_id="run-1")
    auto = found.proposals[found.proposals["decision"] == AUTO]
    return auto, auto.iloc[0]


@pytest.mark.parametrize(
    ("field", "value"),
    [("phone", "020 7946 0000"), ("email", "rep.corrected@example.com"), ("status", "flagged")],
)
def test_a_rep_edit_to_the_loser_since_the_snapshot_turns_the_merge_into_a_conflict(
    any_crm: Crm, field: str, value: str
) -> None:
    # The loser was guarded by its version at apply time: the rep's edit made after the
    # snapshot was buried in a merged-away record.
    crm = any_crm
    auto, row = _loser_case(crm)
    entity = Entity(row["entity"])
    name = field if field != "email" or entity is Entity.CONTACT else "website"
    current = crm.store.read(TENANT, entity, [row["loser_id"]]).iloc[0]
    edited = "rep.example.com" if name == "website" else value
    crm.store.apply_changes(TENANT, [FieldChange(entity, row["loser_id"], name, current[name], edited)])
    outcome = apply_merge_proposals(
        _writer(crm, "run-1"), auto[auto["change_id"] == row["change_id"]], tenant=TENANT
    )
    assert outcome.change_ids("conflict") == [row["change_id"]]
    after = crm.store.read(TENANT, entity, [row["loser_id"]]).iloc[0]
    assert after[name] == edited and not after["merged_into"]
    item = next(i for i in crm.ledger.review_queue(TENANT) if i.change_id == row["change_id"])
    assert item.state is ReviewState.OPEN and "edited since the snapshot" in item.reason


def test_the_tools_own_audited_write_to_the_loser_is_no_conflict(any_crm: Crm) -> None:
    # A company merge re-points the contact's company_id and bumps its version; the contact's
    # own merge later in the run must still go through.
    crm = any_crm
    auto, row = _loser_case(crm)
    entity = Entity(row["entity"])
    current = crm.store.read(TENANT, entity, [row["loser_id"]]).iloc[0]
    own = Proposal.new(
        TENANT, entity.value, row["loser_id"], "city", current["city"], "Own Write City",
        ChangeKind.STANDARDIZE, "test", {}, 1.0, DEFAULT_POLICY_VERSION, "run-1",
    )  # fmt: skip
    assert _writer(crm, "run-1").apply([own]).applied == [own.change_id]
    outcome = apply_merge_proposals(
        _writer(crm, "run-1"), auto[auto["change_id"] == row["change_id"]], tenant=TENANT
    )
    assert outcome.change_ids("merged") == [row["change_id"]]
