"""Link mode: `crm-hygiene dedupe A B --link` finds the records of B that are records of A."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crm_hygiene.matching.evaluate import PairwiseScores
from crm_hygiene.matching.file_io import read_table
from crm_hygiene.matching.file_mapping import DedupeInputError, parse_mapping
from crm_hygiene.matching.link import best_partner_groups, cross_scores, link_tables
from crm_hygiene.model.records import Entity
from tests.matching.people import people
from tests.matching.test_files import run_cli

MAPPING = {
    "id": "id",
    "fields": {"first_name": "first_name", "last_name": "surname", "email": "email", "phone": "phone"},
    "identifiers": {"dob": {"column": "dob", "date": True}},
}


def two_files(tmp_path: Path) -> tuple[Path, Path]:
    """One record per person in A; B holds a copy of every other person of A (with the errors of
    `people`) and people A does not have. Ids repeat across the files on purpose."""
    table = people(500, date_errors=True, seed=11).table
    first = table.drop_duplicates("person", keep="first")
    second = table[~table.index.isin(first.index)].drop_duplicates("person", keep="first")
    in_a = first[first["person"].str[1:].astype(int) < 400]
    in_b = pd.concat([second[second["person"].isin(in_a["person"])], first[~first.index.isin(in_a.index)]])
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    in_a.assign(id=[str(i) for i in range(1, len(in_a) + 1)]).to_csv(a, index=False)
    in_b.assign(id=[str(i) for i in range(1, len(in_b) + 1)]).to_csv(b, index=False)
    return a, b


def test_link_finds_the_records_of_b_in_a(tmp_path: Path) -> None:
    a, b = two_files(tmp_path)
    table_a, table_b = read_table(a), read_table(b)
    said: list[str] = []
    result = link_tables(
        table_a,
        table_b,
        Entity.CONTACT,
        parse_mapping(MAPPING, Entity.CONTACT),
        truth_column="person",
        progress=said.append,
    )
    assert result.scores is not None
    assert result.scores.precision >= 0.99 and result.scores.recall >= 0.95
    # Every record of B with a match names a record of A by A's own id, of the same person.
    output = result.output
    assert list(output.columns) == [*table_b.columns, "match_id", "match_probability"]
    matched = output[output["match_id"].notna()]
    person_of_a = table_a.set_index("id")["person"]
    assert (matched["match_id"].map(person_of_a) == matched["person"]).mean() >= 0.99
    assert (matched["match_probability"] >= 0.99).all()
    # People only B has are left without a match.
    only_b = ~output["person"].isin(table_a["person"])
    assert output.loc[only_b, "match_id"].isna().mean() >= 0.99
    assert any("prior" in line and "the clusters at 0.5" in line for line in said)


def test_the_command_links_two_files_and_refuses_a_half_link(tmp_path: Path) -> None:
    a, b = two_files(tmp_path)
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "id: id\nfields: {first_name: first_name, last_name: surname, email: email, phone: phone}\n"
        "identifiers: {dob: {column: dob, date: true}}\n"
    )
    out = tmp_path / "linked.csv"
    code, lines, err = run_cli(
        "dedupe", str(a), str(b), "--link", "--entity", "contact", "--mapping", str(mapping),
        "--truth", "person", "--output", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert lines[-1]["records_a"] == len(read_table(a)) and lines[-1]["f1"] >= 0.95
    assert "match_id" in read_table(out).columns

    code, _, err = run_cli("dedupe", str(a), str(b), "--entity", "contact")
    assert code != 0 and "two files are linked: add --link" in err
    code, _, err = run_cli("dedupe", str(a), "--link", "--entity", "contact")
    assert code != 0 and "--link links two files" in err


def test_mappings_must_name_the_same_identifiers(tmp_path: Path) -> None:
    a, b = two_files(tmp_path)
    other = parse_mapping({"fields": {"first_name": "first_name"}}, Entity.CONTACT)
    with pytest.raises(DedupeInputError, match="name different identifiers"):
        link_tables(
            read_table(a), read_table(b), Entity.CONTACT, parse_mapping(MAPPING, Entity.CONTACT), other
        )


def test_cross_scores_count_pairs_across_the_files_only() -> None:
    truth = pd.Series(["x", "x", "x", "y", "y"], index=["a:1", "a:2", "b:1", "a:3", "b:2"])
    # True cross pairs: x has 2 of A and 1 of B (2 pairs), y 1 and 1 (1 pair).
    predicted = pd.Series(["c1", "c1", "c1", "c2", "c3"], index=truth.index)
    assert cross_scores(predicted, truth) == PairwiseScores(
        precision=1.0, recall=2 / 3, f1=0.8, true_pairs=3, predicted_pairs=2, correct_pairs=2
    )


WORDS = (
    "amber", "basil", "cedar", "delta", "ember", "fable", "garnet", "harbor", "indigo",
    "juniper", "kestrel", "lantern", "meadow", "nectar", "orchid", "pepper", "quill",
    "russet", "saffron", "thistle", "umber", "velvet", "willow", "yarrow", "zephyr",
    "bramble", "copper", "dune", "falcon", "grove", "heron", "ivory", "jasper", "kelp",
    "lotus", "marble", "nutmeg", "olive", "pebble", "quartz", "raven", "sage",
)  # fmt: skip
STREETS = ("Main St.", "Oak Avenue", "Elm Street", "Pine Rd", "Maple Blvd.", "Lake Dr", "Hill Street")
KINDS = ("cafe", "bistro", "grill", "kitchen", "diner", "tavern", "house", "bar")


def restaurants(count: int = 240, hotels: int = 12, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Guide A lists `count` restaurants and, per hotel, its cafe and its dining room (one
    address, one switchboard); guide B lists two thirds of them again, written its own way
    (words in another order, street types abbreviated, a typo, phones formatted otherwise),
    both restaurants of every hotel among them. `entity` is the truth."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(count):
        name = f"{WORDS[i % len(WORDS)]} {WORDS[(i * 7 + 3) % len(WORDS)]} {KINDS[i % len(KINDS)]}"
        street = f"{100 + i * 13} {STREETS[i % len(STREETS)]}"
        rows.append({"name": name, "addr": street, "phone": f"212-555-{1000 + i:04d}", "entity": f"r{i}"})
    for h in range(hotels):
        hotel = f"{WORDS[(h * 5 + 1) % len(WORDS)]} grand hotel"
        street, phone = f"{5000 + h * 7} Park Avenue", f"212-777-{2000 + h:04d}"
        for kind in ("cafe", "dining room"):
            rows.append(
                {"name": f"{hotel} {kind}", "addr": street, "phone": phone, "entity": f"h{h}{kind[0]}"}
            )
    a = pd.DataFrame(rows)
    a.insert(0, "id", [str(i) for i in range(1, len(a) + 1)])
    chosen = a[(a.index % 3 != 0) | a["entity"].str.startswith("h")]
    b = chosen.copy()
    words = b["name"].str.split()
    b["name"] = [" ".join([w[-1], *w[:-1]]) if rng.random() < 0.5 else " ".join(w) for w in words]
    typo = rng.random(len(b)) < 0.2
    b.loc[typo, "name"] = b.loc[typo, "name"].str.replace("a", "e", n=1, regex=False)
    b["addr"] = b["addr"].str.replace("Street", "St.").str.replace("Avenue", "Ave")
    b["phone"] = "(" + b["phone"].str.slice(0, 3) + ") " + b["phone"].str.slice(4)
    b["id"] = [str(i) for i in range(1, len(b) + 1)]
    return a, b


def test_a_record_of_b_is_linked_to_its_best_record_of_a_only() -> None:
    """The cafe of B and the dining room of A share the hotel's name words, address and phone
    and score high together; the cafe of A scores higher still. Clustered, the four made one
    group and half its pairs across the files were wrong (precision 0.88 here)."""
    a, b = restaurants()
    mapping = parse_mapping(
        {
            "id": "id",
            "fields": {"name": "name", "street": "addr", "phone": "phone", "country": {"value": "US"}},
        },
        Entity.COMPANY,
    )
    result = link_tables(a, b, Entity.COMPANY, mapping, truth_column="entity")
    assert result.scores is not None
    assert result.scores.precision >= 0.99 and result.scores.recall >= 0.95
    hotel_rows = b["entity"].str.startswith("h").to_numpy()
    matched = result.output[hotel_rows]
    assert (matched["match_id"].map(a.set_index("id")["entity"]) == matched["entity"]).all()


def test_best_partner_groups_are_the_pairs_the_output_names() -> None:
    best = pd.DataFrame({"b": ["b:1", "b:2", "b:3"], "a": ["a:1", "a:1", "a:2"]})
    groups = best_partner_groups(best)
    assert groups.to_dict() == {"b:1": "a:1", "b:2": "a:1", "b:3": "a:2", "a:1": "a:1", "a:2": "a:2"}
    truth = pd.Series(["x", "x", "y", "x", "y", "y"], index=["a:1", "b:1", "b:2", "a:3", "a:2", "b:3"])
    # b:2 chose a:1 wrongly; b:1 -> a:1 and b:3 -> a:2 are right; a:3-b:1 and a:2-b:2 are missed.
    scores = cross_scores(groups, truth)
    assert (scores.correct_pairs, scores.predicted_pairs, scores.true_pairs) == (2, 3, 4)
