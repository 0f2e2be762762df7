"""Whole-table normalization on the demo CRM: columns, proposals, and idempotence at table level."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_hygiene.demo import DemoConfig, generate_demo_crm
from crm_hygiene.ledger import ChangeKind, make_change_id
from crm_hygiene.model import Entity
from crm_hygiene.model.snapshot import prepare_snapshot
from crm_hygiene.normalize.records import NORMALIZERS, normalized_fields, standardization_proposals
from crm_hygiene.normalize.schemas import normalized_schema


@pytest.fixture(scope="module")
def snapshots() -> dict[Entity, pd.DataFrame]:
    demo = generate_demo_crm(DemoConfig(contacts=1500, companies=300, seed=11))
    return {entity: prepare_snapshot(entity, demo.records[entity]) for entity in Entity}


@pytest.mark.parametrize("entity", list(Entity))
def test_normalized_table_keeps_every_record_and_passes_its_schema(snapshots, entity: Entity) -> None:
    snapshot = snapshots[entity]
    table = NORMALIZERS[entity](snapshot)
    assert list(table.frame["id"]) == list(snapshot["id"])
    normalized_schema(entity).validate(table.frame, lazy=True)
    assert set(normalized_fields(table.frame)) == set(table.fields)
    invalid = table.frame[[f"{f}_valid" for f in table.fields]].eq(False).any(axis=1)
    assert not snapshot.equals(table.frame)
    for name in table.fields:
        bad = table.frame[f"{name}_valid"].eq(False).fillna(False)
        assert table.frame.loc[bad, f"{name}_reason"].notna().all(), name
    assert invalid.sum() < len(snapshot)


def test_proposals_only_where_a_valid_value_changed_with_old_value_from_the_snapshot(snapshots) -> None:
    snapshot = snapshots[Entity.CONTACT]
    table = NORMALIZERS[Entity.CONTACT](snapshot)
    proposals = table.proposals("demo", snapshot)
    assert len(proposals) > 0
    assert proposals["change_id"].is_unique
    stored = snapshot.set_index("id")
    for row in proposals.sample(50, random_state=1).itertuples():
        assert stored.at[row.record_id, row.field] == row.old_value
        assert row.old_value != row.new_value
        assert 0 < row.confidence <= 1
        assert row.change_id == make_change_id(
            "demo", "contact", row.record_id, row.field, row.new_value, ChangeKind.STANDARDIZE
        )
    assert set(proposals["field"]) <= set(table.fields)


@pytest.mark.parametrize("entity", list(Entity))
def test_applying_every_proposal_then_normalizing_again_proposes_nothing(snapshots, entity: Entity) -> None:
    """Standardization is idempotent on whole tables: the fixed CRM needs no further fixes."""
    snapshot = snapshots[entity]
    proposals = NORMALIZERS[entity](snapshot).proposals("demo", snapshot)
    fixed = snapshot.set_index("id")
    for name, group in proposals.groupby("field"):
        fixed.loc[group["record_id"], name] = group["new_value"].to_numpy()
    fixed = fixed.reset_index()
    again = standardization_proposals("demo", entity, fixed, NORMALIZERS[entity](fixed).frame)
    assert again.empty, again[["record_id", "field", "old_value", "new_value", "rule"]].head(10).to_string()


def test_a_work_email_names_the_company_domain(snapshots) -> None:
    frame = NORMALIZERS[Entity.CONTACT](snapshots[Entity.CONTACT]).frame
    work = frame[frame["email_valid"].fillna(False) & ~frame["email_is_free"].fillna(True)]
    assert (work["company_domain"].notna()).mean() > 0.9
    free = frame[frame["email_is_free"].fillna(False)]
    assert free["company_domain"].isna().all()
