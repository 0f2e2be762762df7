"""The generated records have the canonical shape: columns, ids, system fields, references."""

from __future__ import annotations

import re
from datetime import datetime

import pandas as pd
import pytest

from crm_hygiene.demo import DemoConfig, DemoCrm, generate_demo_crm
from crm_hygiene.demo.generator import GARBLED_DATES
from crm_hygiene.demo.scaffold import OWNERS
from crm_hygiene.model.records import Entity, spec
from tests.demo.conftest import CONFIG

ID_PATTERNS = {Entity.CONTACT: r"C\d{7}", Entity.COMPANY: r"A\d{7}", Entity.EMPLOYMENT: r"E\d{7}"}


@pytest.mark.parametrize("entity", list(Entity))
def test_columns_are_exactly_the_spec_fields_in_order(demo: DemoCrm, entity: Entity) -> None:
    assert list(demo.records[entity].columns) == list(spec(entity).fields)


def test_record_counts_follow_the_config(demo: DemoCrm) -> None:
    assert len(demo.records[Entity.CONTACT]) == CONFIG.contacts
    assert len(demo.records[Entity.COMPANY]) == CONFIG.companies
    # One current job per person, former jobs of job changers, a few from duplicate contacts.
    people = len(demo.truth["current_employer"])
    assert people < len(demo.records[Entity.EMPLOYMENT]) < 1.5 * CONFIG.contacts


@pytest.mark.parametrize("entity", list(Entity))
def test_ids_and_source_ids_are_unique_and_well_formed(demo: DemoCrm, entity: Entity) -> None:
    frame = demo.records[entity]
    assert frame["id"].is_unique
    assert frame["id"].str.fullmatch(ID_PATTERNS[entity]).all()
    assert frame["source_system_id"].is_unique
    assert frame["source_system_id"].str.fullmatch(r"hs-\d+").all()


@pytest.mark.parametrize("entity", list(Entity))
def test_system_fields_hold_their_fixed_values(demo: DemoCrm, entity: Entity) -> None:
    frame = demo.records[entity]
    assert (frame["tenant"] == CONFIG.tenant).all()
    assert (frame["status"] == "active").all()
    assert frame["merged_into"].isna().all()
    assert (frame["flags"] == "[]").all()
    assert frame["version"].dtype.kind == "i"
    assert (frame["version"] == 1).all()
    assert set(frame["owner"]) <= {owner for owner, _ in OWNERS}


@pytest.mark.parametrize("entity", list(Entity))
def test_text_fields_are_python_strings_or_none(demo: DemoCrm, entity: Entity) -> None:
    frame = demo.records[entity]
    for field in spec(entity).fields:
        if field == "version":
            continue
        kinds = {type(v) for v in frame[field]}
        assert kinds <= {str, type(None)}, (field, kinds)


@pytest.mark.parametrize("entity", list(Entity))
def test_timestamps_are_utc_iso_and_ordered(demo: DemoCrm, entity: Entity) -> None:
    frame = demo.records[entity]
    assert frame["created_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    created = pd.to_datetime(frame["created_at"], utc=True)
    updated = pd.to_datetime(frame["updated_at"], utc=True)
    now = pd.Timestamp(CONFIG.now)
    assert (created <= updated).all()
    assert (updated <= now).all()
    # Ids ascend with creation, as a CRM hands them out.
    assert created.is_monotonic_increasing


def test_last_activity_is_missing_recent_or_stale(contacts: pd.DataFrame) -> None:
    garbled = contacts["last_activity_at"].isin(GARBLED_DATES)
    assert 0 < garbled.mean() < 0.01
    # About 1% are written by hand the local way ("08/05/2026"); the rest are ISO 8601.
    iso = contacts["last_activity_at"].str.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", na=False)
    local = contacts["last_activity_at"].notna() & ~iso & ~garbled
    assert 0 < local.mean() < 0.02
    activity = pd.to_datetime(contacts["last_activity_at"].where(iso), utc=True)
    created = pd.to_datetime(contacts["created_at"], utc=True)
    now = pd.Timestamp(CONFIG.now)
    assert 0.03 < (activity.isna() & ~local).mean() < 0.2
    known = activity.notna()
    assert (activity[known] >= created[known]).all()
    assert (activity[known] <= now).all()
    stale = activity[known] < now - pd.Timedelta(days=2 * 365)
    assert 0.05 < stale.mean() < 0.4


def test_some_values_are_malformed_and_their_truth_is_known(demo: DemoCrm) -> None:
    contacts = demo.records[Entity.CONTACT].set_index("id")
    truth = demo.truth["field_truth"]
    garbled = truth[truth["corruption"] == "unparseable_date"]
    assert len(garbled) > 0
    assert set(contacts.loc[garbled["record_id"], "last_activity_at"]) <= set(GARBLED_DATES)
    assert pd.to_datetime(garbled["true_value"], utc=True).notna().all()
    control = truth[(truth["corruption"] == "control_character") & (truth["field"] == "first_name")]
    assert len(control) > 0
    stored = contacts.loc[control["record_id"], "first_name"]
    assert stored.str.contains(r"[\x00\x0c\x1b]$", regex=True).all()
    # Apart from the stray character, only a caps-lock typist may have touched the name.
    assert (
        stored.str.slice(0, -1).str.lower().to_numpy() == control["true_value"].str.lower().to_numpy()
    ).all()


def test_employment_dates_are_iso_dates(employment: pd.DataFrame) -> None:
    for field in ("valid_from", "valid_to"):
        known = employment[field].dropna()
        assert known.str.fullmatch(r"\d{4}-\d\d-\d\d").all()
    assert employment["valid_to"].notna().any()
    assert employment["valid_to"].isna().mean() > 0.8
    closed = employment.dropna(subset=["valid_from", "valid_to"])
    assert (closed["valid_from"] < closed["valid_to"]).all()


def test_references_point_at_existing_records(demo: DemoCrm) -> None:
    contact_ids = set(demo.records[Entity.CONTACT]["id"])
    company_ids = set(demo.records[Entity.COMPANY]["id"])
    employment = demo.records[Entity.EMPLOYMENT]
    assert set(demo.records[Entity.CONTACT]["company_id"].dropna()) <= company_ids
    assert set(employment["contact_id"]) <= contact_ids
    assert set(employment["company_id"]) <= company_ids
    assert set(employment["reports_to"].dropna()) <= contact_ids


def test_owners_and_created_times_differ_within_duplicates(demo: DemoCrm) -> None:
    contacts = demo.records[Entity.CONTACT].merge(
        demo.truth["contact_entities"], left_on="id", right_on="record_id"
    )
    clusters = contacts[contacts["entity_id"].duplicated(keep=False)].groupby("entity_id")
    assert clusters["owner"].nunique().gt(1).mean() > 0.5
    assert clusters["created_at"].nunique().gt(1).all()


def test_tenant_and_now_come_from_the_config() -> None:
    config = DemoConfig(
        contacts=200, companies=40, seed=3, tenant="acme-eu", now=pd.Timestamp("2024-05-01", tz="UTC")
    )
    demo = generate_demo_crm(config)
    for frame in demo.records.values():
        assert (frame["tenant"] == "acme-eu").all()
        assert (pd.to_datetime(frame["updated_at"], utc=True) <= pd.Timestamp("2024-05-01", tz="UTC")).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"contacts": 0}, "at least one contact"),
        ({"companies": 0}, "at least one contact and one company"),
        ({"duplicate_rate": 0.7}, "duplicate_rate"),
        ({"tenant": ""}, "tenant"),
        ({"now": datetime(2026, 1, 1)}, "timezone-aware"),
    ],
)
def test_invalid_configs_are_refused_with_the_reason(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        DemoConfig(**kwargs)  # type: ignore[arg-type]


def test_locally_written_dates_read_in_the_person_s_order_give_their_truth(demo: DemoCrm) -> None:
    contacts = demo.records[Entity.CONTACT].set_index("id")
    truth = demo.truth["field_truth"]
    local = truth[truth["corruption"] == "date_format"]
    assert len(local) > 0
    stored = contacts.loc[local["record_id"], "last_activity_at"].to_numpy(dtype=object)
    assert local["true_value"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    # Every written form names the same day as the truth, in one of the customary orders.
    for text, true in zip(stored, local["true_value"], strict=True):
        day = pd.Timestamp(true)
        assert text in {
            day.strftime("%m/%d/%Y"),
            day.strftime("%d/%m/%Y"),
            f"{day.day} {day:%b %Y}",
            f"{day.day}.{day.month}.{day:%Y}",
        }, (text, true)
