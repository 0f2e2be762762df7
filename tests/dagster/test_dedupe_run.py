"""The nightly job deduplicates a demo CRM in process: pairs, clusters, proposals, audited merges.

Two runs and an undo, on a small demo loaded into temporary stores: the first run trains,
proposes and merges; a duplicate then arrives and the second, incremental run finds it
without proposing anything new for records already merged or moving any entity id; undoing
every merge gives back the snapshot taken before the first run.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from crm_hygiene.apply.audited import AuditedWriter
from crm_hygiene.ledger import AuditAction, ChangeKind, Ledger
from crm_hygiene.model import Entity
from crm_hygiene.policy import Policy, policy_hash
from crm_hygiene.warehouse import read_table
from crm_hygiene_dagster.assets.factory import STEP_SECONDS
from crm_hygiene_dagster.jobs.run import run_nightly
from crm_hygiene_dagster.resources import CrmStoreResource, LedgerResource, WarehouseResource
from tests.matching.dedupe_demo import TENANT, Crm, duplicate_of, merged_precision, new_crm

DEDUPE_ASSETS = ("candidate_pairs", "duplicate_clusters", "merge_proposals", "applied_merges")


@pytest.fixture
def crm(tmp_path: Path) -> Crm:
    # No stored models: the first run trains and stores them, as on a new tenant.
    return new_crm(tmp_path, models=False)


def _resources(crm: Crm, tmp_path: Path) -> dict[str, object]:
    return {
        "crm_store": CrmStoreResource(url=crm.crm_url),
        "ledger": LedgerResource(url=crm.ledger_url),
        "warehouse": WarehouseResource(database=str(tmp_path / "warehouse.duckdb")),
    }


def _table(resources: dict[str, object], name: str) -> pd.DataFrame:
    warehouse: WarehouseResource = resources["warehouse"]  # type: ignore[assignment]
    with warehouse.get_connection() as conn:
        return read_table(conn, TENANT, name)


def _snapshot(crm: Crm) -> dict[Entity, pd.DataFrame]:
    # Unmerge restores every value; version and updated_at record that writes happened.
    return {e: crm.store.snapshot(TENANT, e).drop(columns=["version", "updated_at"]) for e in Entity}


def test_nightly_runs_deduplicate_incrementally_and_every_merge_can_be_undone(
    crm: Crm, tmp_path: Path
) -> None:
    resources = _resources(crm, tmp_path)
    before = _snapshot(crm)
    with dg.instance_for_test() as instance:
        first = run_nightly(TENANT, instance=instance, resources=resources)
        assert first.success, first.failures
        assert first.checks["merge_proposals:merge_proposals_schema_check"] is True
        for asset in DEDUPE_ASSETS:
            assert asset in first.materialized, asset
        # Every step says how long it took, on its own materialization or check evaluation.
        for metadata in (*first.materialized.values(), *first.check_metadata.values()):
            assert metadata[STEP_SECONDS] > 0
        assert set(first.materialized) == {
            "crm_snapshot", "normalized_records", "standardization_proposals", *DEDUPE_ASSETS
        }  # fmt: skip

        pairs = first.materialized["candidate_pairs"]
        assert pairs["contacts.pairs"] > 0 and pairs["companies.pairs"] > 0
        assert sum(pairs["contacts.by_probability"].values()) == pairs["contacts.pairs"]
        assert pairs["contacts.mode"].startswith("full")
        assert "trained and stored version 1" in pairs["contacts.model"]
        # What the model learnt is in the metadata: the prior and where it came from, the EM
        # blocks and the strongest levels.
        learnt = pairs["contacts.learnt"]
        assert 0 < learnt["prior"] < 1 and learnt["prior_from"]
        assert learnt["prior_estimates"][0]["source"] == "deterministic rules"
        assert learnt["em_blocks"] and learnt["strongest_levels"]
        clusters = first.materialized["duplicate_clusters"]
        assert clusters["contacts.clusters"] > 0 and clusters["contacts.largest_cluster"] >= 2
        assert clusters["contacts.records_in_clusters"] >= 2 * clusters["contacts.clusters"]
        proposals = first.materialized["merge_proposals"]
        assert proposals["proposals"] == proposals["auto"] + proposals["review"]
        assert proposals["auto"] > 0 and proposals["review"] > 0
        applied = first.materialized["applied_merges"]
        assert applied["merged"] == proposals["auto"]
        assert applied["queued_for_review"] == proposals["review"]
        assert applied["conflict"] == 0

        with Ledger.open(crm.ledger_url) as ledger:
            entries = ledger.audit_entries(run_id=first.run_id, action=AuditAction.APPLY)
            ids_before = {
                e: ledger.registry.entity_ids(TENANT, e.value) for e in (Entity.CONTACT, Entity.COMPANY)
            }
        assert len(entries) == applied["audit_entries"] > 0
        assert {(e.kind, e.policy_version) for e in entries} == {(ChangeKind.MERGE, policy_hash(Policy()))}
        assert all(e.evidence["explanation"] and e.evidence["match_probability"] >= 0.99 for e in entries)
        for entity in (Entity.CONTACT, Entity.COMPANY):
            assert merged_precision(crm.store, entity).precision >= 0.99

        # A second web form brings in a copy of a contact that survived the first run.
        first_table = _table(resources, "merge_proposals")
        merged_away = set(first_table.loc[first_table["decision"] == "auto", "loser_id"])
        original = next(i for i in sorted(first_table["survivor_id"]) if i.startswith("C"))
        crm.store.insert_records(TENANT, Entity.CONTACT, duplicate_of(crm.store, original, "C9999999"))

        second = run_nightly(TENANT, instance=instance, resources=resources)
        assert second.success, second.failures
        pairs = second.materialized["candidate_pairs"]
        assert pairs["contacts.mode"].startswith("incremental")
        assert 1 <= pairs["contacts.records_scored"] < pairs["contacts.live_records"] / 4
        assert "stored version 1" in pairs["contacts.model"]
        second_table = _table(resources, "merge_proposals")
        involved = set(second_table["survivor_id"]) | set(second_table["loser_id"])
        assert not involved & merged_away
        new = set(second_table["change_id"]) - set(first_table["change_id"])
        assert second_table.loc[second_table["change_id"].isin(new), "loser_id"].tolist() == ["C9999999"]
        assert second.materialized["applied_merges"]["merged"] == 1
        assert crm.store.read(TENANT, Entity.CONTACT, ["C9999999"]).iloc[0]["merged_into"] == original

    with Ledger.open(crm.ledger_url) as ledger:
        for entity, earlier in ids_before.items():
            now = ledger.registry.entity_ids(TENANT, entity.value).set_index("record_id")["entity_id"]
            assert now.reindex(earlier["record_id"]).tolist() == earlier["entity_id"].tolist(), entity
        # Undo every merge of both runs, latest first: the CRM is as it was before the first run.
        writer = AuditedWriter(crm.store, ledger, actor="revops@acme.com")
        groups = [
            e.group_id for e in ledger.audit_entries(action=AuditAction.APPLY) if e.field == "merged_into"
        ]
        assert len(groups) == applied["merged"] + 1
        for group in reversed(groups):
            writer.unmerge(group)
    after = _snapshot(crm)
    for entity, frame in before.items():
        restored = after[entity][after[entity]["id"] != "C9999999"].reset_index(drop=True)
        pd.testing.assert_frame_equal(restored, frame, check_dtype=False)
    assert crm.store.read(TENANT, Entity.CONTACT, ["C9999999"]).iloc[0]["status"] == "active"


def test_a_failed_check_on_merge_proposals_blocks_every_merge(
    crm: Crm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crm_hygiene_dagster.assets.dedupe as tenant_module

    build = tenant_module.tenant_merge_proposals

    def crossing(*args: object, **kwargs: object) -> pd.DataFrame:
        # Simulate a defect: a proposal that would merge across tenants.
        proposals = build(*args, **kwargs)  # type: ignore[arg-type]
        proposals.loc[0, "tenant"] = "globex"
        return proposals

    monkeypatch.setattr(tenant_module, "tenant_merge_proposals", crossing)
    resources = _resources(crm, tmp_path)
    with dg.instance_for_test() as instance:
        summary = run_nightly(TENANT, instance=instance, resources=resources)
    assert summary.checks["merge_proposals:merge_proposals_schema_check"] is False
    assert "merge_proposals" in summary.materialized
    assert "applied_merges" not in summary.materialized
    metadata = summary.check_metadata["merge_proposals:merge_proposals_schema_check"]
    assert metadata["failure_cases"] >= 1
    with Ledger.open(crm.ledger_url) as ledger:
        assert ledger.audit_entries() == []
    assert (crm.store.snapshot(TENANT, Entity.CONTACT)["status"] != "merged").all()
