"""Two tenants, the same CRM data, different policies, one store and one ledger: each run is
judged by its own tenant's policy, and every audit entry names the exact version."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from crm_hygiene import tables
from crm_hygiene.ledger import AuditAction, Ledger
from crm_hygiene.matching.decisions import AUTO
from crm_hygiene.model import Entity
from crm_hygiene.policy import parse_policy, policy_hash
from crm_hygiene.policy.schema import Policy
from crm_hygiene.policy.store import PolicyStore
from crm_hygiene.warehouse import read_table
from crm_hygiene_dagster.jobs.run import failure_message, run_nightly
from crm_hygiene_dagster.resources import CrmStoreResource, LedgerResource, WarehouseResource
from tests.matching.dedupe_demo import TENANT, demo, new_crm

STRICT = "strict"


def test_a_stricter_auto_merge_threshold_merges_less_and_the_hash_is_on_every_entry(tmp_path: Path) -> None:
    crm = new_crm(tmp_path)
    for entity in (Entity.COMPANY, Entity.CONTACT, Entity.EMPLOYMENT):
        crm.store.insert_records(STRICT, entity, demo().records[entity])
    crm.ledger.tenants.add([STRICT], by="test")
    store = PolicyStore(crm.ledger)
    strict, _ = store.set(
        STRICT,
        parse_policy("merge:\n  auto_merge_threshold: 0.999\n  min_training_records: 20\n"),
        by="test",
    )
    resources = {
        "crm_store": CrmStoreResource(url=crm.crm_url),
        "ledger": LedgerResource(url=crm.ledger_url),
        "warehouse": WarehouseResource(database=str(tmp_path / "warehouse.duckdb")),
    }
    with dg.instance_for_test() as instance:
        default_run = run_nightly(TENANT, instance=instance, resources=resources)
        strict_run = run_nightly(STRICT, instance=instance, resources=resources)
    assert default_run.success and strict_run.success, default_run.failures + strict_run.failures
    default_hash = policy_hash(Policy())
    assert default_run.policy_version == default_hash
    assert strict_run.policy_version == strict.hash != default_hash

    merged = {run.tenant: run.materialized["applied_merges"]["merged"] for run in (default_run, strict_run)}
    assert 0 < merged[STRICT] < merged[TENANT], merged
    for run in (default_run, strict_run):
        for name in ("crm_snapshot", "candidate_pairs", "merge_proposals", "applied_merges"):
            assert run.materialized[name]["policy_version"] == run.policy_version, name

    with Ledger.open(crm.ledger_url) as ledger:
        for run in (default_run, strict_run):
            entries = ledger.audit_entries(run_id=run.run_id, action=AuditAction.APPLY)
            assert entries and {e.policy_version for e in entries} == {run.policy_version}
            proposals = ledger.proposals(run.tenant)
            assert proposals and {p.policy_version for p in proposals} == {run.policy_version}
            # The summary's counts are the ledger's and the step's, not a progress tally.
            assert run.open_review_items == ledger.counts(run.tenant)["open_review_items"]
            queued = run.materialized["applied_merges"]["queued_for_review"]
            assert any(f"{queued:,} sent to review" in line for line in run.headline())

    warehouse = resources["warehouse"]
    with warehouse.get_connection() as conn:  # type: ignore[attr-defined]
        strict_proposals = read_table(conn, STRICT, tables.MERGE_PROPOSALS)
    auto = strict_proposals[strict_proposals["decision"] == AUTO]
    assert (auto["weakest_probability"] >= 0.999).all()
    between = strict_proposals[strict_proposals["weakest_probability"].between(0.99, 0.999, inclusive="left")]
    assert len(between) and (between["decision"] != AUTO).all()


def test_a_partition_the_ledger_does_not_list_stops_before_reading_anything(tmp_path: Path) -> None:
    from crm_hygiene_dagster.assets import crm_snapshot
    from crm_hygiene_dagster.assets.partitions import tenants

    resources = {
        "crm_store": CrmStoreResource(url=f"sqlite:///{tmp_path / 'crm.sqlite'}"),
        "ledger": LedgerResource(url=f"sqlite:///{tmp_path / 'ledger.sqlite'}"),
        "warehouse": WarehouseResource(database=str(tmp_path / "warehouse.duckdb")),
    }
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(tenants.name, ["ghost"])  # e.g. added in the UI by hand
        result = dg.materialize(
            [crm_snapshot],
            partition_key="ghost",
            resources=resources,
            instance=instance,
            raise_on_error=False,
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure_message(failure.step_failure_data.error).startswith("unknown tenant 'ghost'")
    assert not (tmp_path / "warehouse.duckdb").exists()
