"""Whole-table normalization on the demo CRM: columns, proposals, and idempotence at table level."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_hygiene.demo import DemoConfig, generate_demo_crm
from crm_hygiene.ledger import ChangeKind, make_change_id
from crm_hygiene.model import Entity
from crm_hygiene.model.records import CONTACT
from crm_hygiene.model.snapshot import prepare_snapshot
from crm_hygiene.normalize.records import NORMALIZERS, normalized_fields, standardization_proposals
from crm_hygiene.normalize.schemas import normalized_schema


@pytest.fixture(scope="module")
def raw() -> dict[Entity, pd.DataFrame]:
    return generate_demo_crm(DemoConfig(contacts=1500, companies=300, seed=11)).records


@pytest.fixture(scope="module")
def snapshots(raw) -> dict[Entity, pd.DataFrame]:
    return {entity: prepare_snapshot(entity, raw[entity]) for entity in Entity}


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


def test_proposals_only_where_a_valid_value_changed_with_old_value_as_stored(raw, snapshots) -> None:
    snapshot = snapshots[Entity.CONTACT]
    table = NORMALIZERS[Entity.CONTACT](snapshot)
    proposals = table.proposals("demo", snapshot)
    assert len(proposals) > 0
    assert proposals["change_id"].is_unique
    stored = raw[Entity.CONTACT].set_index("id")
    for row in proposals.sample(50, random_state=1).itertuples():
        assert stored.at[row.record_id, row.field] == row.old_value
        assert row.old_value != row.new_value
        assert 0 < row.confidence <= 1
        assert row.change_id == make_change_id(
            "demo", "contact", row.record_id, row.field, row.new_value, ChangeKind.STANDARDIZE
        )
    assert set(proposals["field"]) <= set(table.fields)


@pytest.mark.parametrize("entity", list(Entity))
def test_applying_every_proposal_then_normalizing_again_proposes_nothing(
    raw, snapshots, entity: Entity
) -> None:
    """Standardization is idempotent on whole tables: the fixed CRM needs no further fixes."""
    snapshot = snapshots[entity]
    proposals = NORMALIZERS[entity](snapshot).proposals("demo", snapshot)
    assert len(proposals) > 0
    # As a store applies them: new text into the stored records, then a fresh snapshot.
    fixed = raw[entity].set_index("id")
    for name, group in proposals.groupby("field"):
        fixed.loc[group["record_id"], name] = group["new_value"].to_numpy()
    fixed = prepare_snapshot(entity, fixed.reset_index())
    again = standardization_proposals("demo", entity, fixed, NORMALIZERS[entity](fixed).frame)
    assert again.empty, again[["record_id", "field", "old_value", "new_value", "rule"]].head(10).to_string()


def test_a_work_email_names_the_company_domain(snapshots) -> None:
    frame = NORMALIZERS[Entity.CONTACT](snapshots[Entity.CONTACT]).frame
    work = frame[frame["email_valid"].fillna(False) & ~frame["email_is_free"].fillna(True)]
    assert (work["company_domain"].notna()).mean() > 0.9
    free = frame[frame["email_is_free"].fillna(False)]
    assert free["company_domain"].isna().all()


def _contacts(**columns: list[object]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base: dict[str, list[object]] = {name: [None] * n for name in CONTACT.fields}
    base.update({"tenant": ["acme"] * n, "version": ["1"] * n, "status": ["active"] * n, "flags": ["[]"] * n})
    base["id"] = [f"C{i}" for i in range(n)]
    base.update(columns)
    return prepare_snapshot(Entity.CONTACT, pd.DataFrame(base))


def test_dates_written_another_way_are_proposed_in_iso_reading_the_order_from_the_country() -> None:
    snapshot = _contacts(
        country=["GB", "US", "GB", None, "DE"],
        last_activity_at=["03/05/2024", "03/05/2024", "2024-03-05T10:00:00Z", "N/A", "5 March 2024 10:00"],
    )
    table = NORMALIZERS[Entity.CONTACT](snapshot)
    frame = table.frame.set_index("id")
    assert [str(v) for v in frame["last_activity_at"]] == [
        "2024-05-03 00:00:00+00:00",
        "2024-03-05 00:00:00+00:00",
        "2024-03-05 10:00:00+00:00",
        "NaT",
        "2024-03-05 10:00:00+00:00",
    ]
    assert frame.at["C3", "last_activity_at_valid"] == False  # noqa: E712 (a pandas NA-able bool)
    assert frame.at["C3", "last_activity_at_reason"] == "not a calendar date"
    proposals = table.proposals("acme", snapshot).query("field == 'last_activity_at'").set_index("record_id")
    assert proposals.loc["C0", ["old_value", "new_value", "rule"]].tolist() == [
        "03/05/2024",
        "2024-05-03",
        "date_ambiguous_order",
    ]
    assert proposals.at["C0", "confidence"] < 0.9, "a guessed day/month order is not near-certain"
    assert proposals.at["C1", "new_value"] == "2024-03-05"
    assert proposals.at["C4", "new_value"] == "2024-03-05T10:00:00+00:00"
    assert "C2" not in proposals.index, "an ISO timestamp is left as it is"
    assert "C3" not in proposals.index, "what is not a date is flagged, never rewritten"
    normalized_schema(Entity.CONTACT).validate(table.frame, lazy=True)


def test_a_missing_country_is_guessed_from_an_international_phone_with_low_confidence() -> None:
    snapshot = _contacts(
        country=[None, None, "Germany", None, "Narnia"],
        phone=["+49 30 12345678", "030 12345678", "+1 415 555 0134", "0044 20 7946 0018", "+49 30 12345678"],
        postcode=["10115", None, None, "sw1a1aa", None],
    )
    table = NORMALIZERS[Entity.CONTACT](snapshot)
    frame = table.frame.set_index("id")
    assert frame["country"].tolist() == ["DE", None, "DE", "GB", None]
    assert frame.at["C0", "country_rule"] == "country_from_phone"
    assert frame.at["C0", "country_confidence"] < 0.8
    assert frame.at["C0", "country_alpha3"] == "DEU"
    assert frame.at["C2", "country_rule"] == "country_name", "a country typed by a person wins over the phone"
    assert frame.at["C4", "country_valid"] == False, "an unknown country stays flagged, not overwritten"  # noqa: E712
    assert frame.at["C3", "postcode"] == "SW1A 1AA", "the guessed country formats the postcode"
    proposals = table.proposals("acme", snapshot).query("field == 'country'").set_index("record_id")
    assert proposals.loc["C0", ["old_value", "new_value"]].tolist() == [None, "DE"]
    assert "C1" not in proposals.index, "a national number names no country by itself"
    normalized_schema(Entity.CONTACT).validate(table.frame, lazy=True)
