"""The ground truth is complete and agrees with the records it describes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crm_hygiene.demo import DemoConfig, DemoCrm, generate_demo_crm, write_truth
from crm_hygiene.model.records import Entity


def _entity_of(demo: DemoCrm, table: str) -> dict[str, str]:
    truth = demo.truth[table]
    return dict(zip(truth["record_id"], truth["entity_id"], strict=True))


def test_every_record_has_exactly_one_true_entity(demo: DemoCrm) -> None:
    for entity, table in ((Entity.CONTACT, "contact_entities"), (Entity.COMPANY, "company_entities")):
        truth = demo.truth[table]
        assert truth["record_id"].is_unique
        assert set(truth["record_id"]) == set(demo.records[entity]["id"])
        assert truth["entity_id"].notna().all()


@pytest.mark.parametrize("rate", [0.05, 0.10])
def test_duplicate_rate_is_within_the_configured_band(rate: float) -> None:
    demo = generate_demo_crm(DemoConfig(contacts=2000, companies=500, seed=2, duplicate_rate=rate))
    for table in ("contact_entities", "company_entities"):
        truth = demo.truth[table]
        copies = 1 - truth["entity_id"].nunique() / len(truth)
        assert rate * 0.8 <= copies <= rate * 1.2, (table, copies)


def test_default_duplicate_rate_is_between_eight_and_twelve_percent(demo: DemoCrm) -> None:
    truth = demo.truth["contact_entities"]
    assert 0.08 <= 1 - truth["entity_id"].nunique() / len(truth) <= 0.12
    # Some people were entered three times or more.
    assert truth["entity_id"].value_counts().max() >= 3


def test_duplicates_are_not_verbatim_copies(demo: DemoCrm) -> None:
    contacts = demo.records[Entity.CONTACT].merge(
        demo.truth["contact_entities"], left_on="id", right_on="record_id"
    )
    clusters = contacts[contacts["entity_id"].duplicated(keep=False)]
    shown = clusters[["first_name", "last_name", "email", "phone"]].fillna("").agg("|".join, axis=1)
    distinct = shown.groupby(clusters["entity_id"]).nunique()
    assert (distinct > 1).mean() > 0.8


def test_field_truth_values_differ_from_what_is_stored(demo: DemoCrm) -> None:
    truth = demo.truth["field_truth"]
    assert not truth.duplicated(["entity", "record_id", "field"]).any()
    assert truth["true_value"].notna().all()
    for (entity, field), rows in truth.groupby(["entity", "field"], observed=True):
        frame = demo.records[Entity(entity)].set_index("id")
        stored = frame[field].reindex(rows["record_id"]).to_numpy(dtype=object)
        assert (stored != rows["true_value"].to_numpy(dtype=object)).all(), (entity, field)


def test_field_truth_covers_every_kind_of_mess(field_truth: pd.DataFrame) -> None:
    kinds = field_truth.groupby("field", observed=True)["corruption"].agg(lambda k: set(k.astype(str)))
    assert {"format", "garbage", "extension", "missing", "truncated"} <= kinds["phone"]
    assert {"case", "role_address", "double_at", "at_word", "mailto", "stale_employer", "missing"} <= kinds[
        "email"
    ]
    assert {"nickname", "upper", "lower", "honorific", "whitespace", "typo"} <= kinds["first_name"]
    assert {"variant", "typo", "missing"} <= kinds["country"]
    assert {"legal_suffix", "missing_legal_form", "typo"} <= kinds["name"]
    assert {"format", "missing"} <= kinds["website"]
    assert {"abbreviation", "stale_employer"} <= kinds["title"]


def test_true_values_are_canonical(field_truth: pd.DataFrame) -> None:
    def values(field: str) -> pd.Series:
        return field_truth.loc[field_truth["field"] == field, "true_value"]

    assert values("phone").str.fullmatch(r"\+[1-9]\d{7,13}(;ext=\d{1,3})?").all()
    assert values("email").str.fullmatch(r"[a-z0-9._]+@[a-z0-9.-]+\.[a-z]{2,}").all()
    assert values("country").isin(["US", "GB", "DE", "FR", "IN", "BR", "JP", "AU", "CA", "NL"]).all()
    assert values("website").str.fullmatch(r"[a-z0-9-]+(\.[a-z]{2,})+").all()


@pytest.mark.parametrize("entity", [Entity.CONTACT, Entity.COMPANY])
def test_formatted_phones_keep_the_true_digits(demo: DemoCrm, entity: Entity) -> None:
    truth = demo.truth["field_truth"]
    formatted = truth[
        (truth["entity"] == entity.value) & (truth["field"] == "phone") & (truth["corruption"] == "format")
    ]
    assert len(formatted) > 0.5 * len(demo.records[entity])
    stored = demo.records[entity].set_index("id")["phone"].reindex(formatted["record_id"])
    stored_digits = stored.str.replace(r"\D", "", regex=True).to_numpy()
    true_digits = formatted["true_value"].str.replace(r"\D", "", regex=True).to_numpy()
    # Whatever the prefix (+44, 0044, 0, none), the subscriber number ends both.
    assert all(s[-7:] == t[-7:] for s, t in zip(stored_digits, true_digits, strict=True))


def test_every_person_has_a_current_employer(demo: DemoCrm) -> None:
    employer = demo.truth["current_employer"]
    assert employer["contact_entity_id"].is_unique
    assert set(employer["contact_entity_id"]) == set(demo.truth["contact_entities"]["entity_id"])
    assert set(employer["company_entity_id"]) <= set(demo.truth["company_entities"]["entity_id"])


def test_job_changers_have_a_closed_old_job_and_an_open_new_one(demo: DemoCrm) -> None:
    person = _entity_of(demo, "contact_entities")
    company = _entity_of(demo, "company_entities")
    employment = demo.records[Entity.EMPLOYMENT].assign(
        person=lambda f: f["contact_id"].map(person), company=lambda f: f["company_id"].map(company)
    )
    changes = demo.truth["job_changes"]
    assert 0.05 < len(changes) / len(demo.truth["current_employer"]) < 0.25
    for change in changes.itertuples():
        jobs = employment[employment["person"] == change.contact_entity_id]
        old = jobs[(jobs["company"] == change.previous_company_entity_id) & jobs["valid_to"].notna()]
        new = jobs[(jobs["company"] == change.company_entity_id) & jobs["valid_to"].isna()]
        assert (old["valid_to"] == change.changed_on).any(), change
        assert (new["valid_from"] == change.changed_on).any(), change


def test_some_contacts_still_show_their_former_employer(demo: DemoCrm) -> None:
    contacts = demo.records[Entity.CONTACT]
    person = contacts["id"].map(_entity_of(demo, "contact_entities"))
    shown = contacts["company_id"].map(_entity_of(demo, "company_entities"))
    changes = demo.truth["job_changes"].set_index("contact_entity_id")
    changer = person.isin(changes.index)
    former = shown[changer] == person[changer].map(changes["previous_company_entity_id"])
    current = shown[changer] == person[changer].map(changes["company_entity_id"])
    assert 0.2 < former.mean() < 0.7
    assert current.any()


def test_reports_to_points_at_a_colleague_at_the_same_company(demo: DemoCrm) -> None:
    employment = demo.records[Entity.EMPLOYMENT]
    contact_ids = set(demo.records[Entity.CONTACT]["id"])
    current = employment[employment["valid_to"].isna()]
    lines = current.dropna(subset=["reports_to"])
    assert len(lines) > 0.3 * len(demo.truth["current_employer"])
    assert set(lines["reports_to"]) <= contact_ids
    assert (lines["reports_to"] != lines["contact_id"]).all()
    manager_jobs = current[["contact_id", "company_id"]].rename(
        columns={"contact_id": "reports_to", "company_id": "manager_company_id"}
    )
    joined = lines.merge(manager_jobs, on="reports_to", how="left")
    same_company = joined["company_id"] == joined["manager_company_id"]
    assert same_company.groupby(joined["id"]).any().all()


def test_reports_to_agrees_with_the_true_reporting_lines(demo: DemoCrm) -> None:
    person = _entity_of(demo, "contact_entities")
    employment = demo.records[Entity.EMPLOYMENT].dropna(subset=["reports_to"])
    crm = set(zip(employment["contact_id"].map(person), employment["reports_to"].map(person), strict=True))
    lines = demo.truth["reporting_lines"]
    truth = set(zip(lines["contact_entity_id"], lines["manager_entity_id"], strict=True))
    assert crm <= truth
    assert len(crm) < len(truth)  # the CRM knows only part of the org chart


def test_write_truth_writes_parquet_tables_and_a_readme(demo: DemoCrm, tmp_path: Path) -> None:
    paths = write_truth(demo, tmp_path / "truth")
    names = {path.name for path in paths}
    assert names == {f"{name}.parquet" for name in demo.truth} | {"README.md"}
    assert all(path.exists() for path in paths)
    readme = (tmp_path / "truth" / "README.md").read_text()
    for name, table in demo.truth.items():
        assert name in readme
        assert all(column in readme for column in table.columns)
        back = pd.read_parquet(tmp_path / "truth" / f"{name}.parquet")
        pd.testing.assert_frame_equal(back, table, check_categorical=False)
