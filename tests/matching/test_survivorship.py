"""Survivorship: each field rule, survivor order, normalized values, conflicts, bad input, scale, order-independence."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_hygiene.matching.survivorship import (
    DEFAULT_FIELD_RULES,
    FIELD_COLUMNS,
    SURVIVOR_COLUMNS,
    MergePlan,
    Rule,
    SurvivorCriterion,
    SurvivorshipPolicy,
    plan_merges,
)
from crm_hygiene.model import Entity
from crm_hygiene.model.snapshot import prepare_snapshot
from crm_hygiene.normalize.records import normalize_companies


def stamp(day: int | None) -> str | None:
    """An ISO timestamp `day` days into 2024 (None stays None): readable relative times in tests."""
    return (
        None if day is None else (pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(days=day)).isoformat()
    )


def snapshot(*rows: dict[str, object], entity: Entity = Entity.CONTACT) -> pd.DataFrame:
    """A typed snapshot, as the pipeline builds it, from a few rows given as text.

    `updated`, `created` and `activity` are day offsets; every other key is a stored field.
    """
    raw = []
    for row in rows:
        row = dict(row)
        raw.append(
            {
                "tenant": "t",
                "version": "1",
                "status": "active",
                "flags": "[]",
                "created_at": stamp(row.pop("created", 0)),
                "updated_at": stamp(row.pop("updated", 0)),
                "last_activity_at": stamp(row.pop("activity", None)),
                **row,
            }
        )
    return prepare_snapshot(entity, pd.DataFrame(raw))


def clusters(**groups: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"record_id": rid, "cluster": name} for name, ids in groups.items() for rid in ids],
        columns=["record_id", "cluster"],
    )


def field_row(plan: MergePlan, field: str, cluster: str = "k") -> dict[str, object] | None:
    rows = plan.fields[(plan.fields["cluster"] == cluster) & (plan.fields["field"] == field)]
    assert len(rows) <= 1
    return None if rows.empty else rows.iloc[0].to_dict()


def survivor_of(plan: MergePlan, cluster: str = "k") -> str:
    return plan.survivors.set_index("cluster").at[cluster, "survivor_id"]


# --- field rules ---------------------------------------------------------------------------------


def test_most_recent_reads_when_a_person_changed_the_field_not_the_records_updated_at() -> None:
    # C1's updated_at is recent because this tool re-pointed its company_id; its phone was last
    # changed by a person on day 1. C2's phone was changed on day 20: it is the recent one.
    records = snapshot(
        {"id": "C1", "phone": "+1 555 0100", "title": "VP Sales", "updated": 40},
        {"id": "C2", "phone": "+1 555 0199", "title": "Head of Sales", "updated": 20},
    )
    by_updated_at = plan_merges(records, clusters(k=["C1", "C2"]))
    assert field_row(by_updated_at, "phone")["value"] == "+1 555 0100"
    changed_at = pd.DataFrame(
        {
            "phone": pd.to_datetime([stamp(1), stamp(20)], utc=True),
            "title": pd.to_datetime([stamp(1), stamp(2)], utc=True),
        },
        index=pd.Index(["C1", "C2"], name="id"),
    )
    by_person = plan_merges(records, clusters(k=["C1", "C2"]), changed_at=changed_at)
    assert field_row(by_person, "phone")["value"] == "+1 555 0199"
    assert field_row(by_person, "title")["value"] == "Head of Sales"
    # A record the tracker has not seen yet keeps its updated_at for every field.
    partial = plan_merges(records, clusters(k=["C1", "C2"]), changed_at=changed_at.loc[["C2"]])
    assert field_row(partial, "phone")["value"] == "+1 555 0100"


def test_most_recent_takes_the_value_of_the_latest_update() -> None:
    records = snapshot(
        {"id": "C1", "email": "old@acme.com", "updated": 1, "first_name": "Ann", "last_name": "Lee"},
        {"id": "C2", "email": "new@acme.com", "updated": 5},
    )
    plan = plan_merges(records, clusters(k=["C1", "C2"]))
    assert survivor_of(plan) == "C1"  # more fields filled
    assert field_row(plan, "email") == {
        "cluster": "k",
        "survivor_id": "C1",
        "field": "email",
        "value": "new@acme.com",
        "current_value": "old@acme.com",
        "from_record_id": "C2",
        "rule": "most_recent",
        "conflict": True,
    }


def test_most_recent_never_clears_a_value_with_an_empty_one() -> None:
    records = snapshot(
        {"id": "C1", "phone": "+15125550100", "first_name": "Ann", "updated": 1},
        {"id": "C2", "phone": None, "updated": 9},
    )
    plan = plan_merges(records, clusters(k=["C1", "C2"]))
    assert field_row(plan, "phone") is None  # the only value is already the survivor's


def test_most_recent_fills_an_empty_survivor_field_without_conflict() -> None:
    records = snapshot(
        {"id": "C1", "first_name": "Ann", "last_name": "Lee", "updated": 9},
        {"id": "C2", "phone": "+15125550100", "updated": 1},
    )
    row = field_row(plan_merges(records, clusters(k=["C1", "C2"])), "phone")
    assert row is not None
    assert (row["value"], row["current_value"], row["from_record_id"], row["conflict"]) == (
        "+15125550100",
        None,
        "C2",
        False,
    )


def trusted_policy() -> SurvivorshipPolicy:
    return SurvivorshipPolicy(source_ranking=("salesforce", "hubspot")).with_rules(
        title=Rule.MOST_TRUSTED_SOURCE
    )


def test_most_trusted_source_beats_a_later_update_from_a_less_trusted_source() -> None:
    records = snapshot(
        {"id": "C1", "title": "CTO", "updated": 1},
        {"id": "C2", "title": "VP Engineering", "updated": 9},
        {"id": "C3", "title": "Intern", "updated": 20},
    )
    records["source"] = ["salesforce", "hubspot", None]  # unranked/missing sources rank last
    row = field_row(plan_merges(records, clusters(k=["C1", "C2", "C3"]), trusted_policy()), "title")
    assert row is not None and (row["value"], row["from_record_id"], row["rule"]) == (
        "CTO",
        "C1",
        "most_trusted_source",
    )


def test_most_trusted_source_ties_go_to_the_most_recent() -> None:
    records = snapshot(
        {"id": "C1", "title": "CTO", "updated": 1},
        {"id": "C2", "title": "VP Engineering", "updated": 9},
    )
    records["source"] = ["hubspot", "hubspot"]
    row = field_row(plan_merges(records, clusters(k=["C1", "C2"]), trusted_policy()), "title")
    assert row is not None and row["value"] == "VP Engineering"


def test_most_trusted_source_without_a_source_column_falls_back_to_most_recent() -> None:
    records = snapshot(
        {"id": "C1", "title": "CTO", "updated": 1},
        {"id": "C2", "title": "VP Engineering", "updated": 9},
    )
    assert "source" not in records
    row = field_row(plan_merges(records, clusters(k=["C1", "C2"]), trusted_policy()), "title")
    assert row is not None and (row["value"], row["rule"]) == ("VP Engineering", "most_trusted_source")


def test_most_complete_takes_the_longest_value() -> None:
    records = snapshot(
        {"id": "C1", "street": "1 Main Street, Suite 500", "updated": 1},
        {"id": "C2", "street": "1 Main St", "updated": 9},
        {"id": "C3", "street": "1 Main", "city": "Boston", "updated": 5},
    )
    plan = plan_merges(records, clusters(k=["C1", "C2", "C3"]))
    assert survivor_of(plan) == "C3"
    row = field_row(plan, "street")
    assert row is not None and (row["value"], row["from_record_id"], row["rule"]) == (
        "1 Main Street, Suite 500",
        "C1",
        "most_complete",
    )


def test_most_complete_ties_go_to_the_most_recent() -> None:
    records = snapshot(
        {"id": "C1", "city": "Austin", "updated": 1, "first_name": "Ann"},
        {"id": "C2", "city": "Boston", "updated": 9},
    )
    row = field_row(plan_merges(records, clusters(k=["C1", "C2"])), "city")
    assert row is not None and (row["value"], row["from_record_id"]) == ("Boston", "C2")


def test_survivor_rule_keeps_the_survivors_value() -> None:
    records = snapshot(
        {"id": "C1", "owner": "ann@example.com", "first_name": "Ann", "updated": 1},
        {"id": "C2", "owner": "bob@example.com", "updated": 9},
    )
    row = field_row(plan_merges(records, clusters(k=["C1", "C2"])), "owner")
    # Reported for the conflict, but nothing changes.
    assert row is not None
    assert (row["value"], row["current_value"], row["rule"], row["conflict"]) == (
        "ann@example.com",
        "ann@example.com",
        "survivor",
        True,
    )


def test_survivor_rule_falls_back_to_the_most_recent_value_when_the_survivor_has_none() -> None:
    records = snapshot(
        {"id": "C1", "first_name": "Ann", "last_name": "Lee", "updated": 1},
        {"id": "C2", "owner": "bob@example.com", "updated": 2},
        {"id": "C3", "owner": "cy@example.com", "updated": 9},
    )
    row = field_row(plan_merges(records, clusters(k=["C1", "C2", "C3"])), "owner")
    assert row is not None and (row["value"], row["from_record_id"]) == ("cy@example.com", "C3")


def test_union_of_flags_is_sorted_and_without_duplicates() -> None:
    records = snapshot(
        {"id": "C1", "flags": '["dnc"]', "first_name": "Ann"},
        {"id": "C2", "flags": '["vip", "dnc", "vip"]'},
        {"id": "C3", "flags": "[]"},
    )
    records.loc[2, "flags"] = "bounced"  # legacy text: one flag (as stores.operations.parse_flags reads it)
    row = field_row(plan_merges(records, clusters(k=["C1", "C2", "C3"])), "flags")
    assert row is not None
    assert json.loads(str(row["value"])) == ["bounced", "dnc", "vip"]
    assert row["value"] == json.dumps(["bounced", "dnc", "vip"])
    assert (row["from_record_id"], row["rule"], row["conflict"]) == (None, "union", True)


def test_union_with_one_distinct_list_changes_only_a_survivor_without_it() -> None:
    records = snapshot(
        {"id": "C1", "flags": "[]", "first_name": "Ann"},
        {"id": "C2", "flags": '["dnc"]'},
    )
    row = field_row(plan_merges(records, clusters(k=["C1", "C2"])), "flags")
    assert row is not None and (row["value"], row["current_value"], row["conflict"]) == (
        '["dnc"]',
        None,
        False,
    )

    same = snapshot({"id": "C1", "flags": '["a", "b"]'}, {"id": "C2", "flags": '["b","a"]'})
    assert field_row(plan_merges(same, clusters(k=["C1", "C2"])), "flags") is None


def test_last_activity_takes_the_latest_activity_written_canonically() -> None:
    records = snapshot(
        {"id": "C1", "activity": 30, "updated": 1, "first_name": "Ann"},
        {"id": "C2", "activity": 5, "updated": 9},
        {"id": "C3", "activity": None, "updated": 20},
    )
    plan = plan_merges(records, clusters(k=["C1", "C2", "C3"]))
    row = field_row(plan, "last_activity_at")
    assert row is not None
    assert (row["value"], row["current_value"], row["rule"]) == (
        "2024-01-31T00:00:00+00:00",
        "2024-01-31T00:00:00+00:00",
        "latest",
    )


def test_fields_follow_policy_rules_and_the_default() -> None:
    policy = SurvivorshipPolicy(field_rules={"street": "survivor"}, default_rule="most_complete")
    assert policy.rule_for("street") is Rule.SURVIVOR
    assert policy.rule_for("email") is Rule.MOST_COMPLETE  # not in the map: the default
    records = snapshot(
        {"id": "C1", "street": "1 Main", "email": "a@acme.com", "first_name": "Ann"},
        {"id": "C2", "street": "1 Main Street", "email": "ann.lee@acme.com", "updated": 9},
    )
    plan = plan_merges(records, clusters(k=["C1", "C2"]), policy)
    assert field_row(plan, "street")["value"] == "1 Main"  # type: ignore[index]
    assert field_row(plan, "email")["value"] == "ann.lee@acme.com"  # type: ignore[index]


def test_default_rules() -> None:
    rules = SurvivorshipPolicy().field_rules
    assert rules == DEFAULT_FIELD_RULES
    for name in ("email", "phone", "first_name", "last_name", "title"):
        assert rules[name] is Rule.MOST_RECENT
    for name in ("company_name", "name", "website", "street", "city", "region", "postcode", "country"):
        assert rules[name] is Rule.MOST_COMPLETE
    assert rules["flags"] is Rule.UNION
    assert SurvivorshipPolicy().default_rule is Rule.MOST_RECENT


def test_with_rules_keeps_the_other_defaults() -> None:
    policy = SurvivorshipPolicy().with_rules(email="survivor")
    assert policy.rule_for("email") is Rule.SURVIVOR
    assert policy.rule_for("street") is Rule.MOST_COMPLETE


def test_system_fields_are_never_proposed() -> None:
    records = snapshot(
        {"id": "C1", "first_name": "Ann", "created": 0, "updated": 1, "source_system_id": "hs-1"},
        {"id": "C2", "created": 3, "updated": 9, "tenant": "t", "source_system_id": "hs-2"},
    )
    records.loc[1, "version"] = 7
    plan = plan_merges(records, clusters(k=["C1", "C2"]))
    proposed = set(plan.fields["field"])
    assert not proposed & {"id", "tenant", "version", "created_at", "updated_at", "status", "merged_into"}
    assert "source_system_id" not in proposed


@pytest.mark.parametrize("name", ["id", "status", "merged_into", "version"])
def test_policy_rejects_rules_for_system_fields(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        SurvivorshipPolicy(field_rules={name: Rule.MOST_RECENT})


def test_policy_rejects_unknown_rules_and_criteria() -> None:
    with pytest.raises(ValueError, match="most_loud"):
        SurvivorshipPolicy(field_rules={"email": "most_loud"})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="tallest"):
        SurvivorshipPolicy(survivor_criteria=("tallest",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="hubspot"):
        SurvivorshipPolicy(source_ranking=("hubspot", "crm", "hubspot"))


# --- survivor choice -----------------------------------------------------------------------------


def test_survivor_has_the_most_filled_business_fields() -> None:
    records = snapshot(
        {"id": "C1", "email": "a@acme.com", "activity": 50, "created": 0},
        {"id": "C2", "email": "a@acme.com", "first_name": "Ann", "last_name": "Lee", "created": 9},
    )
    # System fields (owner, flags) do not count.
    records.loc[0, "owner"] = "rep@example.com"
    records.loc[0, "flags"] = '["x"]'
    assert survivor_of(plan_merges(records, clusters(k=["C1", "C2"]))) == "C2"


def test_survivor_ties_go_to_the_latest_activity_then_the_oldest_then_the_smallest_id() -> None:
    def survivor(*rows: dict[str, object]) -> str:
        records = snapshot(*rows)
        return survivor_of(plan_merges(records, clusters(k=list(records["id"]))))

    assert survivor({"id": "C1", "activity": 1}, {"id": "C2", "activity": 7}, {"id": "C3"}) == "C2"
    assert (
        survivor({"id": "C1", "created": 4}, {"id": "C2", "created": 2}, {"id": "C3", "created": None})
        == "C2"
    )
    assert survivor({"id": "C9", "created": None}, {"id": "C3", "created": None}, {"id": "C5"}) == "C5"
    assert survivor({"id": "C9"}, {"id": "C3"}, {"id": "C5"}) == "C3"


def test_survivor_criteria_are_configurable() -> None:
    records = snapshot(
        {"id": "C1", "first_name": "Ann", "last_name": "Lee", "updated": 1},
        {"id": "C2", "updated": 9},
        {"id": "C3", "updated": 3},
    )
    records["source"] = ["hubspot", "hubspot", "salesforce"]
    by_update = SurvivorshipPolicy(survivor_criteria=(SurvivorCriterion.LATEST_UPDATE,))
    assert survivor_of(plan_merges(records, clusters(k=["C1", "C2", "C3"]), by_update)) == "C2"
    by_source = SurvivorshipPolicy(
        survivor_criteria=("trusted_source", "latest_update"),  # type: ignore[arg-type]
        source_ranking=("salesforce",),
    )
    assert survivor_of(plan_merges(records, clusters(k=["C1", "C2", "C3"]), by_source)) == "C3"


def test_survivors_frame_lists_losers_by_id() -> None:
    records = snapshot(
        {"id": "C3"}, {"id": "C2", "first_name": "Ann"}, {"id": "C1"}, {"id": "C4"}, {"id": "C5"}
    )
    plan = plan_merges(records, clusters(k=["C3", "C2", "C1"], j=["C5", "C4"]))
    assert list(plan.survivors.columns) == list(SURVIVOR_COLUMNS)
    assert plan.survivors.to_dict("records") == [
        {"cluster": "j", "survivor_id": "C4", "loser_ids": ["C5"], "size": 2},
        {"cluster": "k", "survivor_id": "C2", "loser_ids": ["C1", "C3"], "size": 3},
    ]


def test_shuffled_input_rows_give_the_same_plan() -> None:
    records = snapshot(
        {"id": "C1", "email": "a@x.com", "city": "Boston", "updated": 2, "flags": '["dnc"]'},
        {"id": "C2", "email": "b@x.com", "city": "Boston MA", "updated": 2, "flags": '["vip"]'},
        {"id": "C3", "email": "c@x.com", "updated": 2},
        {"id": "C4", "email": "d@x.com", "title": "CTO", "updated": 1},
        {"id": "C5", "email": "d@x.com", "title": "Chief Technology Officer", "updated": 1},
    )
    groups = clusters(k=["C1", "C2", "C3"], j=["C4", "C5"])
    expected = plan_merges(records, groups)
    rng = np.random.default_rng(3)
    for _ in range(5):
        shuffled = records.sample(frac=1, random_state=rng).set_axis(rng.permutation(len(records)))
        got = plan_merges(shuffled, groups.sample(frac=1, random_state=rng))
        assert_same_plan(got, expected)


def assert_same_plan(got: MergePlan, expected: MergePlan) -> None:
    pd.testing.assert_frame_equal(got.survivors, expected.survivors)
    pd.testing.assert_frame_equal(got.fields, expected.fields)
    pd.testing.assert_frame_equal(got.already_merged, expected.already_merged)


# --- normalized values ---------------------------------------------------------------------------


def test_normalized_values_are_preferred_so_spellings_are_not_conflicts() -> None:
    records = snapshot(
        {"id": "C1", "company_name": "ACME inc", "first_name": "Ann", "updated": 1},
        {"id": "C2", "company_name": "Acme Inc.", "updated": 9},
    )
    normalized = pd.DataFrame(
        {
            "id": ["C2", "C1"],  # aligned by id, not by position
            "company_name": ["Acme Inc.", "Acme Inc."],
            "company_name_valid": pd.array([True, True], dtype="boolean"),
        }
    )
    assert field_row(plan_merges(records, clusters(k=["C1", "C2"])), "company_name")["conflict"]  # type: ignore[index]
    plan = plan_merges(records, clusters(k=["C1", "C2"]), normalized=normalized)
    # Same canonical value: no conflict, and rewriting the spelling is standardization's job.
    assert field_row(plan, "company_name") is None


def test_normalized_value_of_a_loser_is_proposed_in_canonical_form() -> None:
    records = snapshot(
        {"id": "C1", "first_name": "Ann", "last_name": "Lee", "updated": 1},
        {"id": "C2", "phone": "(512) 555-0100", "updated": 9},
    )
    normalized = pd.DataFrame(
        {
            "id": ["C1", "C2"],
            "phone": [None, "+15125550100"],
            "phone_valid": pd.array([None, True], "boolean"),
        }
    )
    row = field_row(plan_merges(records, clusters(k=["C1", "C2"]), normalized=normalized), "phone")
    assert row is not None and (row["value"], row["from_record_id"]) == ("+15125550100", "C2")


def test_invalid_values_rank_below_valid_ones_whatever_the_rule() -> None:
    records = snapshot(
        {"id": "C1", "email": "ann@acme.com", "owner": "typo", "first_name": "Ann", "updated": 1},
        {"id": "C2", "email": "ann at acme", "owner": "bob@example.com", "updated": 9},
    )
    normalized = pd.DataFrame(
        {
            "id": ["C1", "C2"],
            "email": ["ann@acme.com", None],
            "email_valid": pd.array([True, False], dtype="boolean"),
            "owner": [None, "bob@example.com"],
            "owner_valid": pd.array([False, True], dtype="boolean"),
        }
    )
    plan = plan_merges(records, clusters(k=["C1", "C2"]), normalized=normalized)
    email = field_row(plan, "email")
    assert email is not None and (email["value"], email["conflict"]) == ("ann@acme.com", True)
    owner = field_row(plan, "owner")  # `survivor` rule, but the survivor's value was rejected
    assert owner is not None and (owner["value"], owner["from_record_id"]) == ("bob@example.com", "C2")


def test_records_missing_from_the_normalized_frame_keep_their_stored_values() -> None:
    records = snapshot(
        {"id": "C1", "city": "Boston", "first_name": "Ann"},
        {"id": "C2", "city": "Boston"},
    )
    normalized = pd.DataFrame({"id": ["C1"], "city": ["BOSTON"], "city_valid": pd.array([True], "boolean")})
    row = field_row(plan_merges(records, clusters(k=["C1", "C2"]), normalized=normalized), "city")
    # Same length, same update time: the survivor's value.
    assert row is not None and row["conflict"] and row["value"] == "BOSTON"


def test_works_with_the_real_normalizer() -> None:
    records = snapshot(
        {"id": "A1", "name": "Acme Inc.", "website": "https://www.acme.com/", "city": "Austin", "updated": 1},
        {"id": "A2", "name": "Acme Inc.", "website": "acme.com", "updated": 9},
        entity=Entity.COMPANY,
    )
    normalized = normalize_companies(records).frame
    plan = plan_merges(records, clusters(k=["A1", "A2"]), normalized=normalized)
    assert field_row(plan, "website") is None  # one website, spelled two ways
    assert field_row(plan_merges(records, clusters(k=["A1", "A2"])), "website") is not None


# --- conflicts, singletons, merged records -------------------------------------------------------


def test_conflict_is_reported_even_when_the_survivor_keeps_its_value() -> None:
    records = snapshot(
        {"id": "C1", "city": "Springfield", "first_name": "Ann", "updated": 9},
        {"id": "C2", "city": "Shelbyville", "updated": 1},
        {"id": "C3", "city": "Springfield", "updated": 1},
    )
    row = field_row(plan_merges(records, clusters(k=["C1", "C2", "C3"])), "city")
    assert row is not None and (row["value"], row["current_value"], row["conflict"]) == (
        "Springfield",
        "Springfield",
        True,
    )


def test_agreeing_records_produce_no_field_rows() -> None:
    records = snapshot(
        {"id": "C1", "email": "a@x.com", "city": "Boston", "activity": 3},
        {"id": "C2", "email": "a@x.com", "city": "Boston", "updated": 4},
    )
    plan = plan_merges(records, clusters(k=["C1", "C2"]))
    assert len(plan.survivors) == 1
    assert plan.fields.empty
    assert list(plan.fields.columns) == list(FIELD_COLUMNS)


def test_singletons_and_unclustered_records_produce_nothing() -> None:
    records = snapshot({"id": "C1", "email": "a@x.com"}, {"id": "C2", "email": "b@x.com"}, {"id": "C3"})
    groups = pd.DataFrame({"record_id": ["C1", "C2", "C3"], "cluster": ["a", "b", None]})
    plan = plan_merges(records, groups)
    assert plan.survivors.empty and plan.fields.empty and plan.already_merged.empty
    assert list(plan.survivors.columns) == list(SURVIVOR_COLUMNS)
    assert plan_merges(records, clusters()).survivors.empty


def test_merged_records_are_never_survivors_nor_sources() -> None:
    records = snapshot(
        {"id": "C1", "email": "a@x.com"},
        {"id": "C2", "email": "b@x.com", "updated": 5},
        # The most complete and most recent record, but already merged away.
        {
            "id": "C0",
            "email": "z@x.com",
            "first_name": "Ann",
            "last_name": "Lee",
            "status": "merged",
            "merged_into": "C7",
            "updated": 50,
        },
    )
    plan = plan_merges(records, clusters(k=["C0", "C1", "C2"]))
    assert plan.survivors.to_dict("records") == [
        {"cluster": "k", "survivor_id": "C1", "loser_ids": ["C2"], "size": 2}
    ]
    assert set(plan.fields["from_record_id"].dropna()) <= {"C1", "C2"}
    assert field_row(plan, "email")["value"] == "b@x.com"  # type: ignore[index]
    assert plan.already_merged.to_dict("records") == [
        {"cluster": "k", "record_id": "C0", "merged_into": "C7"}
    ]


def test_a_cluster_with_one_live_record_is_not_merged_but_its_merged_records_are_listed() -> None:
    records = snapshot(
        {"id": "C1", "email": "a@x.com"},
        {"id": "C2", "email": "b@x.com", "status": "merged", "merged_into": "C1"},
    )
    plan = plan_merges(records, clusters(k=["C1", "C2"]))
    assert plan.survivors.empty and plan.fields.empty
    assert plan.already_merged["record_id"].tolist() == ["C2"]


# --- bad input -----------------------------------------------------------------------------------


def test_unknown_record_id_in_a_cluster_is_named() -> None:
    records = snapshot({"id": "C1"}, {"id": "C2"})
    with pytest.raises(ValueError, match="'C404'"):
        plan_merges(records, clusters(k=["C1", "C404"]))


def test_duplicate_record_ids_are_named() -> None:
    records = snapshot({"id": "C1"}, {"id": "C2"}, {"id": "C1"}, {"id": "C3"})
    with pytest.raises(ValueError, match=r"duplicate ids: 'C1'$"):
        plan_merges(records, clusters(k=["C1", "C2"]))


def test_duplicate_normalized_ids_are_named() -> None:
    records = snapshot({"id": "C1"}, {"id": "C2"})
    normalized = pd.DataFrame({"id": ["C2", "C2"], "city": [None, None]})
    with pytest.raises(ValueError, match=r"normalized.*'C2'"):
        plan_merges(records, clusters(k=["C1", "C2"]), normalized=normalized)


def test_a_record_in_two_clusters_is_named() -> None:
    records = snapshot({"id": "C1"}, {"id": "C2"}, {"id": "C3"})
    with pytest.raises(ValueError, match="more than one cluster: 'C2'"):
        plan_merges(records, clusters(a=["C1", "C2"], b=["C2", "C3"]))


def test_clusters_without_the_expected_columns_are_rejected() -> None:
    with pytest.raises(ValueError, match="record_id"):
        plan_merges(snapshot({"id": "C1"}), pd.DataFrame({"id": ["C1"], "cluster": [1]}))


def test_repeated_membership_rows_are_harmless() -> None:
    records = snapshot({"id": "C1", "first_name": "Ann"}, {"id": "C2"})
    plan = plan_merges(records, clusters(k=["C1", "C2", "C2"]))
    assert plan.survivors["loser_ids"].tolist() == [["C2"]]


def test_all_null_fields_and_missing_timestamps_are_fine() -> None:
    records = snapshot(
        {"id": "C1", "created": None, "updated": None},
        {"id": "C2", "created": None, "updated": None, "activity": None},
    )
    records["flags"] = None
    plan = plan_merges(records, clusters(k=["C1", "C2"]))
    assert plan.survivors.to_dict("records") == [
        {"cluster": "k", "survivor_id": "C1", "loser_ids": ["C2"], "size": 2}
    ]
    assert plan.fields.empty


def test_plain_frames_with_integer_ids_and_labels_work() -> None:
    records = pd.DataFrame(
        {"id": [1, 2, 3], "email": ["a@x.com", "b@x.com", None], "updated_at": [None, "2024-03-01", None]}
    )
    plan = plan_merges(records, pd.DataFrame({"record_id": [1, 2, 3], "cluster": [7, 7, 7]}))
    assert plan.survivors.to_dict("records") == [
        {"cluster": 7, "survivor_id": "1", "loser_ids": ["2", "3"], "size": 3}
    ]
    assert field_row(plan, "email", cluster=7)["value"] == "b@x.com"  # type: ignore[index]


# --- scale and order-independence ----------------------------------------------------------------


def test_a_hundred_thousand_clusters() -> None:
    rng = np.random.default_rng(0)
    n_clusters = 100_000
    cluster = np.repeat(np.arange(n_clusters), 2)
    n = len(cluster)
    ids = pd.Series(np.arange(n)).map("C{:07d}".format)

    def pick(pool: list[str]) -> np.ndarray:
        values = np.asarray(pool, dtype=object)[rng.integers(0, len(pool), n)]
        values[rng.random(n) < 0.2] = None
        return values

    updated = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 10**8, n), unit="s")
    records = pd.DataFrame(
        {
            "id": ids,
            "status": "active",
            "updated_at": updated,
            "created_at": updated,
            "flags": pick(["[]", '["dnc"]', '["vip"]']),
            "email": pick([f"u{i}@x.com" for i in range(500)]),
            "city": pick(["Boston", "Austin", "Springfield"]),
            "title": pick(["CTO", "CEO", "VP Sales"]),
        }
    )
    plan = plan_merges(records, pd.DataFrame({"record_id": ids, "cluster": cluster}))
    assert len(plan.survivors) == n_clusters
    assert (plan.survivors["size"] == 2).all()
    assert plan.fields["cluster"].nunique() > n_clusters // 2


_IDS = [f"C{i}" for i in range(8)]
_record = st.fixed_dictionaries(
    {
        "email": st.sampled_from([None, "", "a@x.com", "b@x.com"]),
        "city": st.sampled_from([None, "Boston", "Austin", "Boston MA"]),
        "owner": st.sampled_from([None, "ann@example.com", "bob@example.com"]),
        "flags": st.sampled_from([None, "[]", '["dnc"]', '["vip", "dnc"]', "legacy"]),
        "status": st.sampled_from(["active", "active", "active", "merged"]),
        # Few distinct days, some missing: ties and NaT everywhere.
        "updated": st.sampled_from([None, 1, 2, 3]),
        "created": st.sampled_from([None, 0, 1]),
        "activity": st.sampled_from([None, 4, 5]),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(_record, min_size=1, max_size=len(_IDS)),
    labels=st.lists(st.sampled_from([None, "a", "b", "c"]), min_size=len(_IDS), max_size=len(_IDS)),
    data=st.data(),
)
def test_plan_does_not_depend_on_input_row_order(
    rows: list[dict[str, object]], labels: list[str | None], data: st.DataObject
) -> None:
    records = snapshot(*({"id": rid, **row} for rid, row in zip(_IDS, rows, strict=False)))
    groups = pd.DataFrame({"record_id": records["id"], "cluster": labels[: len(records)]})
    expected = plan_merges(records, groups)

    record_order = data.draw(st.permutations(range(len(records))))
    group_order = data.draw(st.permutations(range(len(groups))))
    shuffled = records.iloc[list(record_order)].reset_index(drop=True)
    got = plan_merges(shuffled, groups.iloc[list(group_order)])
    assert_same_plan(got, expected)

    # And the plan's invariants: no merged survivor or loser, every loser listed once.
    merged = set(records.loc[records["status"] == "merged", "id"])
    planned = set(expected.survivors["survivor_id"]) | {
        i for ids in expected.survivors["loser_ids"] for i in ids
    }
    assert not planned & merged
    assert (expected.survivors["size"] >= 2).all()
