"""The ways deduplication of people failed, each on a small generated file with known truth.

Each set is built by `people` so that one failure class decides the score; the figures the
earlier matcher reached on the same sets are in the comments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from crm_hygiene.matching.file_io import read_table
from crm_hygiene.matching.file_mapping import DedupeInputError, parse_mapping
from crm_hygiene.matching.file_records import date_key, file_match_input, map_rows
from crm_hygiene.matching.files import DedupeResult, dedupe_table
from crm_hygiene.matching.model import train
from crm_hygiene.model.records import Entity
from tests.matching.people import People, people


def run(tmp_path: Path, generated: People, mapping: dict[str, Any]) -> tuple[DedupeResult, list[str]]:
    """`crm-hygiene dedupe` on the generated file as written to CSV, and what it said."""
    table = read_table(generated.csv(str(tmp_path / "people.csv")))
    said: list[str] = []
    result = dedupe_table(
        table,
        Entity.CONTACT,
        parse_mapping(mapping, Entity.CONTACT),
        truth_column=generated.truth,
        progress=said.append,
    )
    assert result.scores is not None
    return result, said


NAMES = {"first_name": "first_name", "last_name": "surname"}
# Everything a household shares, mapped as canonical fields.
HOUSEHOLD_MAPPING = {
    "id": "id",
    "fields": {**NAMES, "email": "email", "phone": "phone", "street": "street", "postcode": "postcode"},
}


def test_the_prior_holds_when_every_duplicate_carries_an_error(tmp_path: Path) -> None:
    # No duplicate pair agrees exactly on first name, last name and date of birth, which is
    # what the deterministic rules read: they find a fraction of the duplicates, and a prior
    # taken from them alone was 7 times too low (recall 0.50 at the default threshold).
    generated = people(600, every_duplicate_errs=True, email_share=0.0)
    result, said = run(
        tmp_path,
        generated,
        {"fields": {**NAMES, "phone": "phone"}, "identifiers": {"dob": {"column": "dob", "date": True}}},
    )
    assert result.scores.precision >= 0.99
    assert result.scores.recall >= 0.95
    warning = [line for line in said if "the deterministic rules estimate the prior" in line]
    assert warning and "times apart" in warning[0]
    assert any(line.startswith("training: prior ") for line in said)
    assert any(line.startswith("training: strongest levels: ") for line in said)


def test_relatives_sharing_a_home_are_not_merged(tmp_path: Path) -> None:
    # Households of two to four relatives share last name, address and home phone. EM on the
    # address learnt that a different first name is normal for a duplicate, and the shared
    # line and address outweighed the names: precision 0.36.
    generated = people(600, households=True, email_share=0.2)
    result, said = run(
        tmp_path,
        generated,
        {
            "fields": {**NAMES, "email": "email", "phone": "phone"},
            "identifiers": {"address": {"join": ["street", "postcode"]}},
        },
    )
    assert result.scores.precision >= 0.99
    assert result.scores.recall >= 0.95
    narrowed = [line for line in said if "pairs people who share a place" in line]
    assert narrowed and "id_address" in narrowed[0]


def test_mistyped_dates_still_count(tmp_path: Path) -> None:
    # Half the duplicates have a date of birth one digit off or with day and month swapped;
    # compared as text with one edit allowed, the swaps counted as different (recall 0.81).
    generated = people(600, date_errors=True, email_share=0.0)
    result, _ = run(
        tmp_path, generated, {"fields": NAMES, "identifiers": {"dob": {"column": "dob", "date": True}}}
    )
    assert result.scores.precision >= 0.99
    assert result.scores.recall >= 0.95


def test_a_date_from_parts_is_padded() -> None:
    table = pd.DataFrame(
        {
            "y": ["1967", "1967", "1967", ""],
            "m": ["1", "11", "01", "2"],
            "d": ["12", "2", "12", "3"],
            "n": list("abcd"),
        }
    )
    mapping = parse_mapping(
        {
            "fields": {"first_name": "n"},
            "identifiers": {"dob": {"date": {"year": "y", "month": "m", "day": "d"}}},
        },
        Entity.CONTACT,
    )
    mapped = map_rows(table, mapping)
    # 1967-1-12 and 1967-11-2 joined without padding are both "1967112".
    assert mapped.identifiers["id_dob"].tolist() == ["1967-01-12", "1967-11-02", "1967-01-12", None]
    assert any("identifier dob: 1 value(s) are not dates" in note for note in mapped.notes)


@pytest.mark.parametrize(
    ("text", "day_first", "expected"),
    [
        ("1967-1-12", False, "1967-01-12"),
        ("1967/01/12", False, "1967-01-12"),
        ("19670112", False, "1967-01-12"),
        ("1967-01-12T10:00:00", False, "1967-01-12"),
        ("03/04/1967", False, "1967-03-04"),
        ("03/04/1967", True, "1967-04-03"),
        ("25/12/1967", False, "1967-12-25"),  # only one reading is a date
        ("1650-07-01", False, "1650-07-01"),  # historical records
        ("1967-13-01", False, None),
        ("1967-12-44", False, None),
        ("n/a", False, None),
        ("", False, None),
    ],
)
def test_date_keys(text: str, day_first: bool, expected: str | None) -> None:
    assert date_key(text, day_first) == expected


def test_an_identifier_blanked_as_too_common_is_named() -> None:
    rows = 1_002
    table = pd.DataFrame(
        {"first": [f"name{i}" for i in range(rows)], "office": ["hq"] * (rows - 1) + ["branch"]}
    )
    mapping = parse_mapping(
        {"fields": {"first_name": "first"}, "identifiers": {"office": "office"}}, Entity.CONTACT
    )
    said: list[str] = []
    inputs = file_match_input(map_rows(table, mapping), Entity.CONTACT, said.append)
    assert inputs["id_office"].notna().sum() == 1
    assert said == [
        "identifier office: values held by more than 1,000 records are no identity and are left out "
        "(1,001 record(s) lose them)"
    ]


def test_a_pair_is_explained_in_words_and_as_a_waterfall_chart(tmp_path: Path) -> None:
    generated = people(300, households=True, email_share=0.2, seed=5)
    table = generated.table
    # Two relatives (one household: same last name, address and phone) and one person's two records.
    firsts = table.drop_duplicates("person")
    shared = firsts.groupby(["surname", "street"]).filter(lambda group: len(group) >= 2)
    home = shared.iloc[0]
    relatives = shared[(shared["surname"] == home["surname"]) & (shared["street"] == home["street"])].iloc[:2]
    assert relatives["person"].nunique() == 2 and relatives["street"].nunique() == 1
    twice = table[table["person"].duplicated(keep=False)]
    same = twice[twice["person"] == twice["person"].iloc[0]].iloc[:2]
    mapping = parse_mapping(HOUSEHOLD_MAPPING, Entity.CONTACT)
    path = generated.csv(str(tmp_path / "people.csv"))
    results = {}
    for name, pair in (("relatives", relatives), ("same", same)):
        chart = tmp_path / f"{name}.html"
        result = dedupe_table(
            read_table(path), Entity.CONTACT, mapping, explain_ids=tuple(pair["id"]), explain_chart=chart
        )
        assert result.explanation is not None
        results[name] = result.explanation
        assert chart.is_file() and "vega" in chart.read_text(encoding="utf-8")
    assert results["relatives"].match_probability < 0.5 < 0.99 <= results["same"].match_probability
    # The relatives share line and address, which weigh nothing: their first names decide.
    assert "different first names (-" in results["relatives"].text
    assert "same phone" not in results["relatives"].text
    assert "same last name (+" in results["same"].text
    summary = dedupe_table(read_table(path), Entity.CONTACT, mapping, explain_ids=tuple(same["id"])).summary()
    assert summary["explain"]["ids"] == list(same["id"]) and summary["explain"]["chart"] is None
    with pytest.raises(DedupeInputError, match="no record has the id 'nope'"):
        dedupe_table(read_table(path), Entity.CONTACT, mapping, explain_ids=("nope", str(same["id"].iloc[0])))


def test_training_learns_from_reviewer_labels_and_reports_on_them() -> None:
    generated = people(600, households=True, email_share=0.2, seed=9)
    table = generated.table
    mapping = parse_mapping(HOUSEHOLD_MAPPING, Entity.CONTACT)
    inputs = file_match_input(map_rows(table, mapping), Entity.CONTACT)
    person = table.set_index("id")["person"]
    pairs = table.merge(table, on="person")
    matches = pairs[pairs["id_x"] < pairs["id_y"]].head(40)
    home = table.merge(table, on=["surname", "street"])
    relatives = home[(home["person_x"] != home["person_y"]) & (home["id_x"] < home["id_y"])].head(15)
    labels = pd.DataFrame(
        {
            "record_id_l": [*matches["id_x"], *relatives["id_x"]],
            "record_id_r": [*matches["id_y"], *relatives["id_y"]],
            "match": [1] * len(matches) + [0] * len(relatives),
        }
    )
    assert (
        labels["match"]
        == (person[labels["record_id_l"]].to_numpy() == person[labels["record_id_r"]].to_numpy())
    ).all()
    model = train(Entity.CONTACT, inputs, labels=labels, label_threshold=0.99)
    scored = model.metadata["reviewer_labels"]
    assert scored["matches"] == 40 and scored["non_matches"] == 15 and scored["used_for_m"] is True
    assert scored["precision"] == 1.0 and scored["recall"] >= 0.9 and scored["false_merges"] == 0
    assert model.metadata["learnt"]["labels_used"] is True
    # Too few labelled matches: m is left to EM, the figures are still reported.
    few = train(Entity.CONTACT, inputs, labels=labels.iloc[35:], label_threshold=0.99).metadata[
        "reviewer_labels"
    ]
    assert few["matches"] == 5 and few["used_for_m"] is False and few["recall"] is not None


def test_a_middle_name_or_its_initial_is_compared_and_never_blanked(tmp_path: Path) -> None:
    generated = people(400, email_share=0.0, seed=21)
    table = generated.table.copy()
    middles = ["ann", "beth", "carl", "dora", "emil", "flora", "gus", "hope"]
    person_number = table["person"].str[1:].astype(int)
    middle = person_number.map(lambda n: middles[n % len(middles)])
    # Every other record writes the middle name as its initial; a shared initial is common.
    written = middle.where(table.index % 2 == 0, middle.str[0].str.upper() + ".")
    table["middle"] = written.str.title()
    path = tmp_path / "people.csv"
    table.to_csv(path, index=False)
    mapping = parse_mapping(
        {
            "id": "id",
            "fields": NAMES,
            "identifiers": {
                "dob": {"column": "dob", "date": True},
                "middle": {"column": "middle", "initial": True},
            },
        },
        Entity.CONTACT,
    )
    assert mapping.extra_exact[1].initial and not mapping.extra_exact[1].is_key
    twice = table[table["person"].duplicated(keep=False)]
    mixed = twice.groupby("person").filter(lambda g: g["middle"].str.len().nunique() == 2)
    one = mixed[mixed["person"] == mixed["person"].iloc[0]]
    pair = pd.concat([one[one["middle"].str.len() > 2].iloc[:1], one[one["middle"].str.len() == 2].iloc[:1]])
    said: list[str] = []
    result = dedupe_table(
        read_table(str(path)), Entity.CONTACT, mapping, truth_column="person", progress=said.append,
        explain_ids=tuple(pair["id"]),
    )  # fmt: skip
    assert result.scores is not None and result.scores.precision >= 0.99
    assert result.explanation is not None and "middle initial agrees (+" in result.explanation.text
    # 400 people share 8 middle names: common values, still compared, nothing blanked or said.
    assert not any("identifier middle" in line and "left out" in line for line in said)
    assert any("identifier middle <- middle (name or initial)" in line for line in said)


def test_an_initial_held_by_very_many_records_is_still_compared() -> None:
    rows = 1_002
    table = pd.DataFrame({"first": [f"name{i}" for i in range(rows)], "middle": ["J."] * rows})
    said: list[str] = []
    for initial in (True, False):
        mapping = parse_mapping(
            {
                "fields": {"first_name": "first"},
                "identifiers": {"middle": {"column": "middle", "initial": initial}},
            },
            Entity.CONTACT,
        )
        inputs = file_match_input(map_rows(table, mapping), Entity.CONTACT, said.append, mapping.extra_exact)
        # As an initial it is evidence and kept; as a plain identifier it would be blanked as no identity.
        assert inputs["id_middle"].notna().sum() == (rows if initial else 0)
    assert len(said) == 1 and "identifier middle" in said[0]


def test_a_canonical_key_blanked_as_too_common_is_named_without_its_value() -> None:
    rows = 1_002
    table = pd.DataFrame(
        {"first": [f"name{i}" for i in range(rows)], "mail": ["info.desk@acme-holdings.com"] * rows}
    )
    mapping = parse_mapping({"fields": {"first_name": "first", "email": "mail"}}, Entity.CONTACT)
    said: list[str] = []
    inputs = file_match_input(map_rows(table, mapping), Entity.CONTACT, said.append)
    assert inputs["email_key"].isna().all()
    assert said == [
        "email: 1 value(s) held by more than 1,000 records each are no identity (a placeholder, a "
        "switchboard) and are left out (1,002 record(s))"
    ]
