"""`crm-hygiene dedupe` on files of any schema: mapping parsing, synonyms, extra identifiers,
the command end to end on generated CSV and Parquet files, the truth line, and bad input."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml

from crm_hygiene import cli
from crm_hygiene.matching import file_records, learnt
from crm_hygiene.matching.file_io import default_output, read_table
from crm_hygiene.matching.file_mapping import (
    FULL_NAME,
    DedupeInputError,
    Source,
    default_mapping,
    load_mapping,
    parse_mapping,
)
from crm_hygiene.matching.file_records import identifier_keys, identifier_lists, map_rows
from crm_hygiene.matching.files import MIN_U_PAIRS, u_pairs_for
from crm_hygiene.matching.settings import (
    ExtraIdentifier,
    blocking_rules,
    comparisons,
    level_phrases,
    match_settings,
    settings_fingerprint,
    training_rules,
)
from crm_hygiene.model.records import Entity

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"
FAKE_1000 = SHARED_DATASETS / "splink_datasets" / "fake_1000.csv"


# --- mapping parsing --------------------------------------------------------------------------------


def test_mapping_sources_several_columns_join_value_and_identifiers() -> None:
    mapping = parse_mapping(
        {
            "entity": "contact",
            "id": "ref",
            "missing": ["n/a"],
            "fields": {
                "first_name": ["given", "forename"],
                "last_name": {"column": "surname"},
                "street": {"join": ["house", "road"], "sep": ", "},
                "country": {"value": "GB"},
            },
            "identifiers": {"dob": {"column": "born", "typos": 1}, "National ID": "nid"},
        },
        "contact",
    )
    assert mapping.entity is Entity.CONTACT and mapping.id_column == "ref"
    assert mapping.fields["first_name"] == Source("first", ("given", "forename"))
    assert mapping.fields["last_name"] == Source("first", ("surname",))
    assert mapping.fields["street"] == Source("join", ("house", "road"), sep=", ")
    assert mapping.fields["country"] == Source("value", value="GB")
    assert mapping.extra_exact == (ExtraIdentifier("dob", 1), ExtraIdentifier("national_id"))
    assert mapping.missing == {"*": frozenset({"n/a"})}
    assert mapping.columns_used() == ["ref", "given", "forename", "surname", "house", "road", "born", "nid"]

    table = pd.DataFrame(
        {
            "ref": ["a", "b", "c"],
            "given": ["", "Bea", "n/a"],
            "forename": ["Al", "Bee", "Cy"],
            "surname": ["Smith", " Jones ", None],
            "house": ["1", "", "3"],
            "road": ["High St", "Low Rd", ""],
            "born": ["1970-01-02", "1980/02/03", ""],
            "nid": ["AB 12-34", "", "x"],
        }
    )
    mapped = map_rows(table, mapping)
    raw = mapped.raw.set_index("id")
    assert raw["first_name"].tolist() == ["Al", "Bea", "Cy"]  # first non-empty; "n/a" reads as empty
    assert raw["last_name"].tolist() == ["Smith", "Jones", None]
    assert raw["street"].tolist() == ["1, High St", "Low Rd", "3"]
    assert raw["country"].tolist() == ["GB", "GB", "GB"]
    assert mapped.identifiers.loc["a", "id_dob"] == "19700102"
    assert mapped.identifiers.loc["b", "id_dob"] == "19800203"
    assert mapped.identifiers.loc["a", "id_national_id"] == "ab1234"
    assert mapped.identifiers.loc["b", "id_national_id"] is None


def test_identifiers_as_a_list_and_per_column_missing_values() -> None:
    mapping = parse_mapping(
        {"fields": {"name": "Org"}, "identifiers": ["lei"], "missing": {"Lat": ["0.0"]}}, "company"
    )
    assert mapping.extra_exact == (ExtraIdentifier("lei"),)
    assert mapping.identifiers[0].source == Source("first", ("lei",))
    assert mapping.missing == {"Lat": frozenset({"0.0"})}
    similar = parse_mapping({"identifiers": {"address": {"column": "Address", "similar": 0.9}}}, "company")
    assert similar.extra_exact == (ExtraIdentifier("address", similar=0.9),)


def test_full_name_fills_the_first_name_box_only_when_both_parts_are_empty() -> None:
    mapping = parse_mapping({"fields": {FULL_NAME: "name", "last_name": "last"}}, "contact")
    table = pd.DataFrame({"name": ["Jane Doe", "John Roe"], "last": ["", "Roe"]})
    raw = map_rows(table, mapping).raw
    assert raw["first_name"].tolist() == ["Jane Doe", None]
    assert raw["last_name"].tolist() == [None, "Roe"]
    assert FULL_NAME not in raw.columns


def test_without_a_mapping_canonical_names_and_synonyms_are_used() -> None:
    columns = ["ID", "Given Name", "Surname", "E-mail", "Zip", "Town", "Company", "dob", "cluster", "notes"]
    mapping = default_mapping(columns, "contact", exclude=["cluster"])
    assert mapping.id_column == "ID"
    assert mapping.fields == {
        "first_name": Source("first", ("Given Name",)),
        "last_name": Source("first", ("Surname",)),
        "email": Source("first", ("E-mail",)),
        "company_name": Source("first", ("Company",)),
        "city": Source("first", ("Town",)),
        "postcode": Source("first", ("Zip",)),
    }
    assert mapping.extra_exact == (ExtraIdentifier("dob", date=True),)
    assert "cluster" not in mapping.columns_used() and "notes" not in mapping.columns_used()

    companies = default_mapping(["org_name", "organisation", "url", "Phone", "lei"], "company")
    # Both name columns are used, the first non-empty of them row by row.
    assert companies.fields["name"] == Source("first", ("organisation", "org_name"))
    assert companies.fields["website"] == Source("first", ("url",))
    assert companies.fields["phone"] == Source("first", ("Phone",))
    assert companies.extra_exact == (ExtraIdentifier("lei"),)
    assert companies.id_column is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"fields": {"nickname": "n"}}, "'nickname' is not a contact field"),
        ({"feilds": {}}, "unknown keys ['feilds']"),
        ({"entity": "company"}, "it is for 'company' records"),
        ({"fields": {"first_name": 3}}, "fields.first_name: expected a column name"),
        ({"fields": {"first_name": {"join": ["a"], "column": "b"}}}, "give exactly one of"),
        ({"fields": {"first_name": {"column": "a", "sep": "-"}}}, "`sep` belongs to `join` only"),
        (
            {"fields": {"first_name": {"column": "a", "typos": 1}}},
            "fields.first_name: unknown keys ['typos']",
        ),
        ({"identifiers": {"dob": {"column": "d", "typos": 9}}}, "typos must be 0, 1, 2 or 3"),
        ({"identifiers": {"dob": {"column": "d", "similar": 1.5}}}, "Jaro-Winkler threshold"),
        ({"identifiers": {"dob": {"column": "d", "fuzzy": True}}}, "unknown keys ['fuzzy']"),
        ({"identifiers": {"co": {"column": "d", "split": ""}}}, "split must be a non-empty text"),
        ({"identifiers": {"co": {"column": "d", "split": ";", "typos": 1}}}, "neither typos nor similar"),
        ({"identifiers": {"DOB": "a", "dob": "b"}}, "names repeat"),
        ({"id": ["a", "b"]}, "id: expected one column name"),
        ({"missing": "n/a"}, "missing: expected a list"),
        (["first_name"], "must be a YAML mapping"),
    ],
)
def test_mapping_errors_say_what_is_wrong(data: object, message: str) -> None:
    with pytest.raises(DedupeInputError, match=_escaped(message)):
        parse_mapping(data, "contact")


def test_identifier_keys_keep_letters_and_digits_only() -> None:
    keys = identifier_keys(pd.Series(["DE 123-456", "de123456", " -- ", None, "Ｘ１"]))
    assert keys.tolist() == ["de123456", "de123456", None, None, "x1"]


def test_identifier_lists_are_sorted_distinct_item_keys() -> None:
    lists = identifier_lists(pd.Series(["A B**a-b**C", None, "**", "x"], index=[5, 6, 7, 8]), "**")
    assert lists.tolist() == [["ab", "c"], None, None, ["x"]]
    assert lists.index.tolist() == [5, 6, 7, 8]


def test_list_items_held_by_too_many_records_are_dropped() -> None:
    lists = pd.Series([["a", "b"], ["a"], ["a", "c"], None], dtype=object)
    assert file_records._unshare_items(lists, max_shared=2).tolist() == [["b"], None, ["c"], None]
    assert file_records._unshare_items(lists, max_shared=3).tolist() == lists.tolist()


def test_a_list_identifier_compares_shared_items_and_adds_no_rules() -> None:
    entity = Entity.COMPANY
    extra = (ExtraIdentifier("coauthors", split="**"),)
    more = comparisons(entity, extra)
    assert more[-1].name == "id_coauthors"
    assert more[-1].phrases == (
        "share two or more coauthors items",
        "share one coauthors item",
        "no coauthors item in common",
    )
    assert more[-1].counted_u_column is None
    assert len(blocking_rules(entity, extra)) == len(blocking_rules(entity))
    assert training_rules(entity, extra) is training_rules(entity)
    assert settings_fingerprint(entity, extra) != settings_fingerprint(entity)
    mapping = parse_mapping(
        {"fields": {"name": "n"}, "identifiers": {"coauthors": {"column": "co", "split": "**"}}}, entity
    )
    assert mapping.extra_exact == extra


def test_u_without_matches_takes_the_duplicates_out_of_random_pairs() -> None:
    class Level:
        def __init__(self, m: float, u: float, null: bool = False) -> None:
            self.m_probability, self._u_probability = m, u
            self.is_null_level, self._m_is_trained, self._u_is_trained = null, True, True
            self.label_for_charts = "level"

        @property
        def u_probability(self) -> float:
            return self._u_probability

    levels = [Level(0.5, 0.1, null=True), Level(0.5, 0.1), Level(0.5, 0.02), Level(0.5, 0.9)]

    comparison = SimpleNamespace(comparison_levels=levels, output_column_name="c")
    settings = SimpleNamespace(_probability_two_random_records_match=0.05, comparisons=[comparison])
    linker = SimpleNamespace(_settings_obj=settings)
    said: list[str] = []
    learnt.remove_matches_from_u(linker, said.append)  # type: ignore[arg-type]
    assert levels[0].u_probability == 0.1  # null levels have no u
    assert levels[1].u_probability == pytest.approx((0.1 - 0.05 * 0.5) / 0.95)
    # Never more than MAX_U_CORRECTION times below the measured u.
    assert levels[2].u_probability == pytest.approx(0.02 / learnt.MAX_U_CORRECTION)
    assert levels[3].u_probability == pytest.approx((0.9 - 0.025) / 0.95)
    assert said and "prior 0.05" in said[0]


# --- extra identifiers in the settings -------------------------------------------------------------


@pytest.mark.parametrize("entity", [Entity.CONTACT, Entity.COMPANY])
def test_extra_identifiers_add_a_comparison_a_blocking_rule_and_training_rules(entity: Entity) -> None:
    extra = (ExtraIdentifier("dob", typos=1), "lei")
    base, more = comparisons(entity), comparisons(entity, extra)
    assert [c.name for c in more] == [c.name for c in base] + ["id_dob", "id_lei"]
    assert more[-2].phrases == ("same dob", "dob one edit apart", "different dob")
    assert more[-1].counted_u_column == "id_lei"
    sql = [r.get_blocking_rule("duckdb").blocking_rule_sql for r in blocking_rules(entity, extra)]
    assert sql[-2:] == ['l."id_dob" = r."id_dob"', 'l."id_lei" = r."id_lei"']
    rules = training_rules(entity, extra)
    assert len(rules.deterministic) == len(training_rules(entity).deterministic) + 2
    assert len(rules.em) == len(training_rules(entity).em) + 2
    assert "id_dob" in level_phrases(entity, extra)
    names = [
        c["output_column_name"]
        for c in match_settings(entity, extra_exact=extra).get_settings("duckdb").as_dict()["comparisons"]
    ]
    assert names[-2:] == ["id_dob", "id_lei"]


@pytest.mark.parametrize("entity", [Entity.CONTACT, Entity.COMPANY])
def test_the_default_call_is_unchanged_and_the_fingerprint_covers_identifiers(entity: Entity) -> None:
    assert settings_fingerprint(entity, ()) == settings_fingerprint(entity)
    assert training_rules(entity, ()) is training_rules(entity)
    with_dob = settings_fingerprint(entity, ["dob"])
    assert with_dob != settings_fingerprint(entity)
    assert settings_fingerprint(entity, [ExtraIdentifier("dob", typos=1)]) != with_dob
    assert settings_fingerprint(entity, ["dob", "lei"]) != with_dob


def test_extra_identifier_names_are_checked() -> None:
    with pytest.raises(ValueError, match="lower-case letters"):
        ExtraIdentifier("Date of birth")
    with pytest.raises(ValueError, match="repeat"):
        comparisons(Entity.CONTACT, ["dob", ExtraIdentifier("dob", typos=1)])


# --- the command end to end -------------------------------------------------------------------------

FIRST = ["Anna", "Ben", "Chloe", "Diego", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Liam"]
LAST = ["Schmidt", "Okafor", "Martin", "Ramirez", "Jones", "Haddad", "Lee", "Moreau", "Silva", "Berg"]
CITIES = ["Berlin", "London", "Paris", "Madrid", "Manchester", "Lisbon", "Oslo", "Vienna"]


def people(count: int = 40, seed: int = 5) -> pd.DataFrame:
    """Contacts of `count` people, about half of them entered two or three times with typos,
    a dropped e-mail or phone, or a changed city. `person` is the true entity."""
    rng = random.Random(seed)
    rows = []
    for person in range(count):
        first, last = FIRST[person % len(FIRST)], LAST[(person * 7) % len(LAST)]
        record = {
            "first": first,
            "surname": last,
            "mail": f"{first}.{last}{person}@example{person % 3}.com".lower(),
            "tel": f"+44 20 7946 {person:04d}",
            "born": f"19{60 + person % 40}-0{1 + person % 9}-1{person % 10}",
            "town": CITIES[person % len(CITIES)],
            "person": f"P{person}",
        }
        rows.append(dict(record))
        for _ in range(rng.choice([0, 0, 1, 2])):
            copy = dict(record)
            change = rng.choice(["typo", "no_mail", "no_tel", "town"])
            if change == "typo":
                copy["surname"] = last[:-1] + ("x" if last[-1] != "x" else "y")
            elif change == "no_mail":
                copy["mail"] = ""
            elif change == "no_tel":
                copy["tel"] = ""
            else:
                copy["town"] = CITIES[(person + 3) % len(CITIES)]
            rows.append(copy)
    rng.shuffle(rows)
    frame = pd.DataFrame(rows)
    frame.insert(0, "ref", [f"r{i:03d}" for i in range(len(frame))])
    return frame


def write_mapping(path: Path, data: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


PEOPLE_MAPPING = {
    "entity": "contact",
    "id": "ref",
    "fields": {
        "first_name": "first",
        "last_name": "surname",
        "email": "mail",
        "phone": "tel",
        "city": "town",
    },
    "identifiers": {"dob": {"column": "born", "typos": 1}},
}


def run_cli(*args: str) -> tuple[int, list[dict[str, object]], str]:
    """The command in this process: exit code, the JSON lines on stdout, stderr."""
    out, err = _capture(lambda: cli.main(list(args)))
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    return out.code, lines, err


class _Out(str):
    code: int


def _capture(call):  # -> tuple[_Out, str]
    import contextlib
    import io

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = call()
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 1
    out = _Out(stdout.getvalue())
    out.code = code
    return out, stderr.getvalue()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_dedupe_a_generated_file_end_to_end(tmp_path: Path, suffix: str) -> None:
    source = people()
    path = tmp_path / f"people{suffix}"
    if suffix == ".csv":
        source.to_csv(path, index=False)
    else:
        source.to_parquet(path, index=False)
    mapping = write_mapping(tmp_path / "map.yaml", PEOPLE_MAPPING)

    code, lines, err = run_cli("dedupe", str(path), "--entity", "contact", "--mapping", str(mapping))
    assert code == 0, err
    assert "training: EM on" in err and "wrote" in err  # progress goes to stderr
    assert lines == [
        {"records": len(source), "clusters": lines[0]["clusters"], "seconds": lines[0]["seconds"]}
    ]

    written = default_output(path)
    assert written.name == f"people.deduped{suffix}"
    out = (
        pd.read_csv(written, dtype=str, keep_default_na=False)
        if suffix == ".csv"
        else pd.read_parquet(written)
    )
    assert list(out.columns) == [*source.columns, "cluster_id", "match_probability"]
    assert out["ref"].tolist() == source["ref"].tolist()  # file order kept, values unchanged
    assert out["mail"].tolist() == source["mail"].tolist()
    # cluster_id is the smallest record id of its cluster.
    smallest = out.groupby("cluster_id")["ref"].min()
    assert (smallest.index == smallest.to_numpy()).all()
    # Clean generated duplicates: found, and nobody merged with someone else.
    truth = out.groupby("cluster_id")["person"].nunique()
    assert (truth == 1).all()
    assert out["cluster_id"].nunique() == source["person"].nunique()
    probabilities = pd.to_numeric(out["match_probability"].replace("", None))
    assert probabilities.dropna().between(0, 1).all()


def test_output_path_and_threshold_options(tmp_path: Path) -> None:
    source = people(count=20, seed=2)
    path = tmp_path / "in.csv"
    source.to_csv(path, index=False)
    mapping = write_mapping(tmp_path / "map.yaml", PEOPLE_MAPPING)
    target = tmp_path / "sub" / "out.parquet"
    code, _, err = run_cli(
        "dedupe", str(path), "--entity", "contact", "--mapping", str(mapping), "--output", str(target),
        "--threshold", "0.999999",
    )  # fmt: skip
    assert code == 0, err
    strict = pd.read_parquet(target)
    code, _, err = run_cli("dedupe", str(path), "--entity", "contact", "--mapping", str(mapping))
    default = pd.read_csv(tmp_path / "in.deduped.csv", dtype=str)
    assert strict["cluster_id"].nunique() >= default["cluster_id"].nunique()
    assert "at match probability >= 0.99 " in err  # the default threshold


def test_numeric_ids_order_numerically_and_generated_ids_are_row_numbers(tmp_path: Path) -> None:
    rows = pd.DataFrame(
        {
            "id": [10, 9, 11],
            "first_name": ["Anna", "Anna", "Zed"],
            "last_name": ["Schmidt", "Schmidt", "Quill"],
            "email": ["anna@example.org", "anna@example.org", "zed@example.net"],
        }
    )
    path = tmp_path / "ids.parquet"
    rows.to_parquet(path, index=False)
    code, _, err = run_cli("dedupe", str(path), "--entity", "contact", "--threshold", "0.5")
    assert code == 0, err
    out = pd.read_parquet(tmp_path / "ids.deduped.parquet")
    assert out["cluster_id"].tolist() == [9, 9, 11]  # 9 < 10 as numbers

    rows.drop(columns="id").to_csv(tmp_path / "noid.csv", index=False)
    code, _, err = run_cli("dedupe", str(tmp_path / "noid.csv"), "--entity", "contact", "--threshold", "0.5")
    assert code == 0, err
    assert "id <- row number" in err
    out = pd.read_csv(tmp_path / "noid.deduped.csv")
    assert out["cluster_id"].tolist() == [1, 1, 3]


TINY = """\
id,first_name,last_name,email,phone,city,person
1,Anna,Schmidt,anna.schmidt@example.org,+49 30 1234567,Berlin,A
2,Anna,Schmidt,anna.schmidt@example.org,+49 30 1234567,Berlin,A
3,Ben,Okafor,ben.okafor@mail.example.com,+44 20 7946 0018,London,B
4,Benjamin,Okafor,ben.okafor@mail.example.com,+44 20 7946 0018,London,B
5,Chloé,Martin,chloe.martin@example.fr,+33 1 42 68 53 00,Paris,C
6,Diego,Ramírez,diego.ramirez@example.es,+34 91 123 45 67,Madrid,D
7,Emma,Jones,emma.jones@example.co.uk,+44 161 496 0000,Manchester,E
8,Emma,Jones,,+44 161 496 0000,Manchester,E
9,Farid,Haddad,farid.haddad@example.com,+1 212 555 0100,New York,F
10,Grace,Lee,grace.lee@example.com,+1 415 555 0199,San Francisco,C
"""


def test_truth_prints_one_json_line_with_pairwise_scores(tmp_path: Path) -> None:
    # Hand-labelled: A, B, E are pairs; row 10 is labelled C with row 5 although nothing links
    # them, so 4 true pairs, 3 of them found: precision 1, recall 0.75, F1 6/7.
    path = tmp_path / "tiny.csv"
    path.write_text(TINY, encoding="utf-8")
    code, lines, err = run_cli("dedupe", str(path), "--entity", "contact", "--truth", "person")
    assert code == 0, err
    assert len(lines) == 1
    line = lines[0]
    assert list(line) == ["records", "clusters", "precision", "recall", "f1", "seconds"]
    assert line["records"] == 10 and line["clusters"] == 7
    assert (line["precision"], line["recall"], line["f1"]) == (1.0, 0.75, round(6 / 7, 4))
    assert isinstance(line["seconds"], float) and line["seconds"] >= 0
    out = pd.read_csv(tmp_path / "tiny.deduped.csv")
    assert out["cluster_id"].tolist() == [1, 1, 3, 3, 5, 6, 7, 7, 9, 10]
    assert "person" in out.columns  # the truth column is kept in the output, never used to match


@pytest.mark.skipif(not FAKE_1000.is_file(), reason="the shared datasets (../shared/datasets) are absent")
def test_fake_1000_with_its_benchmark_mapping(tmp_path: Path) -> None:
    mapping = ROOT / "benchmarks" / "mappings" / "fake_1000.yaml"
    code, lines, err = run_cli(
        "dedupe", str(FAKE_1000), "--entity", "contact", "--mapping", str(mapping), "--truth", "cluster",
        "--output", str(tmp_path / "out.csv"), "--threshold", "0.95",
    )  # fmt: skip
    assert code == 0, err
    assert lines[0]["records"] == 1000
    assert lines[0]["precision"] >= 0.99
    assert lines[0]["f1"] >= 0.8  # plain Splink's tutorial model: 0.538 at 0.95


def test_the_installed_command_has_the_subcommand(tmp_path: Path) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text(TINY, encoding="utf-8")
    command = Path(sys.executable).with_name("crm-hygiene")
    done = subprocess.run(
        [str(command), "dedupe", str(path), "--entity", "contact", "--truth", "person"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["f1"] == round(6 / 7, 4)


# --- bad input --------------------------------------------------------------------------------------


def _fails(*args: str) -> str:
    code, lines, err = run_cli(*args)
    assert code != 0 and not lines
    return err


def test_empty_file_and_header_only_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "is empty: no header row" in _fails("dedupe", str(empty), "--entity", "contact")
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n")
    assert "is empty" in _fails("dedupe", str(blank), "--entity", "contact")
    header = tmp_path / "header.csv"
    header.write_text("id,first_name,last_name\n")
    assert "has a header but no records" in _fails("dedupe", str(header), "--entity", "contact")
    pd.DataFrame({"id": pd.Series([], dtype=str)}).to_parquet(tmp_path / "none.parquet")
    assert "has a header but no records" in _fails(
        "dedupe", str(tmp_path / "none.parquet"), "--entity", "company"
    )
    assert "does not exist" in _fails("dedupe", str(tmp_path / "absent.csv"), "--entity", "contact")
    assert "cannot tell the format" in _fails("dedupe", str(tmp_path / "people.xlsx"), "--entity", "contact")


def test_unknown_entity(tmp_path: Path) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text(TINY)
    err = _fails("dedupe", str(path), "--entity", "person")
    assert "invalid choice: 'person'" in err
    with pytest.raises(DedupeInputError, match="unknown entity 'employment'"):
        parse_mapping({}, "employment")


def test_mapping_naming_a_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text(TINY)
    mapping = write_mapping(
        tmp_path / "map.yaml",
        {"id": "id", "fields": {"first_name": ["given", "first_name"]}, "identifiers": {"dob": "birth"}},
    )
    err = _fails("dedupe", str(path), "--entity", "contact", "--mapping", str(mapping))
    assert "first_name: column 'given' is not in the file" in err
    assert "identifiers.dob: column 'birth' is not in the file" in err
    assert "The file has: ['id', 'first_name'" in err
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("fields: [unclosed")
    assert "is not valid YAML" in _fails(
        "dedupe", str(path), "--entity", "contact", "--mapping", str(bad_yaml)
    )
    truth_mapped = write_mapping(tmp_path / "truth.yaml", {"fields": {"title": "person"}})
    err = _fails(
        "dedupe", str(path), "--entity", "contact", "--mapping", str(truth_mapped), "--truth", "person"
    )
    assert "the truth column 'person' is mapped" in err


def test_duplicate_and_empty_ids_are_named_with_their_rows(tmp_path: Path) -> None:
    path = tmp_path / "dupes.csv"
    path.write_text("id,first_name\n7,Ann\n8,Bob\n7,Cy\n9,Di\n8,Ed\n")
    err = _fails("dedupe", str(path), "--entity", "contact")
    assert "column 'id' (the id) repeats 2 id(s): '7' in rows 1, 3; '8' in rows 2, 5" in err
    path.write_text("id,first_name\n7,Ann\n,Bob\n")
    assert "column 'id' (the id) is empty in row 2" in _fails("dedupe", str(path), "--entity", "contact")


def test_repeated_header_list_cells_bad_threshold_and_truth_problems(tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    path.write_text("name,name\nA,B\n")
    assert "the header repeats columns ['name']" in _fails("dedupe", str(path), "--entity", "company")
    pd.DataFrame({"name": ["Acme", "Beta"], "tags": [["a"], ["b"]]}).to_parquet(tmp_path / "lists.parquet")
    mapping = write_mapping(tmp_path / "map.yaml", {"fields": {"name": "name", "industry": "tags"}})
    err = _fails("dedupe", str(tmp_path / "lists.parquet"), "--entity", "company", "--mapping", str(mapping))
    assert "row 1, column 'tags': holds a" in err
    tiny = tmp_path / "tiny.csv"
    tiny.write_text(TINY)
    assert "threshold" in _fails("dedupe", str(tiny), "--entity", "contact", "--threshold", "1.5")
    assert "the truth column 'label' is not in the file" in _fails(
        "dedupe", str(tiny), "--entity", "contact", "--truth", "label"
    )
    tiny.write_text(TINY.replace("Lee,grace.lee@example.com,+1 415 555 0199,San Francisco,C", "Lee,,,,"))
    assert "the truth column 'person' is empty in row 10" in _fails(
        "dedupe", str(tiny), "--entity", "contact", "--truth", "person"
    )
    assert "would overwrite the input" in _fails(
        "dedupe", str(tiny), "--entity", "contact", "--output", str(tiny)
    )


def test_all_null_mapped_columns_give_singletons_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("id,first_name,last_name,email,who\n1,,,,a\n2,,,,a\n3, , ,,b\n")
    code, lines, err = run_cli("dedupe", str(path), "--entity", "contact", "--truth", "who")
    assert code == 0, err
    assert "warning: nothing to match on" in err
    assert lines[0]["records"] == 3 and lines[0]["clusters"] == 3
    assert (lines[0]["precision"], lines[0]["recall"]) == (1.0, 0.0)
    out = pd.read_csv(tmp_path / "blank.deduped.csv")
    assert out["cluster_id"].tolist() == [1, 2, 3]
    assert out["match_probability"].isna().all()
    # A file whose columns match no field at all is the same case.
    other = tmp_path / "other.csv"
    other.write_text("colour,size\nred,1\nblue,2\n")
    code, lines, err = run_cli("dedupe", str(other), "--entity", "company")
    assert code == 0 and lines[0]["clusters"] == 2
    assert "no column maps to a field" in err and "warning: nothing to match on" in err


def test_one_row_file_is_one_singleton_cluster(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("id,name,website,entity\nc1,Acme Ltd,acme.example,e1\n")
    code, lines, err = run_cli("dedupe", str(path), "--entity", "company", "--truth", "entity")
    assert code == 0, err
    assert lines == [
        {
            "records": 1,
            "clusters": 1,
            "precision": 1.0,
            "recall": 1.0,
            "f1": 1.0,
            "seconds": lines[0]["seconds"],
        }
    ]
    out = pd.read_csv(tmp_path / "one.deduped.csv")
    assert out["cluster_id"].tolist() == ["c1"]


def test_read_table_keeps_csv_text_as_written(tmp_path: Path) -> None:
    path = tmp_path / "text.csv"
    path.write_text('\ufeffid,zip,note\n1,01234,"two\nlines"\n2,,NA\n', encoding="utf-8")
    table = read_table(path)
    assert list(table.columns) == ["id", "zip", "note"]  # BOM dropped
    assert table.to_dict("records") == [
        {"id": "1", "zip": "01234", "note": "two\nlines"},
        {"id": "2", "zip": "", "note": "NA"},
    ]


def _escaped(text: str) -> str:
    import re

    return re.escape(text)


def test_small_file_without_duplicates_trains_and_keeps_everyone_apart(tmp_path: Path) -> None:
    # No pair agrees on any deterministic rule: the prior falls back to Splink's default.
    path = tmp_path / "three.csv"
    path.write_text("first_name,last_name\nAnn,Lee\nBob,Ray\nCy,Day\n")
    code, lines, err = run_cli("dedupe", str(path), "--entity", "contact")
    assert code == 0, err
    assert "gave a prior of 0; using 0.0001" in err
    assert lines[0]["clusters"] == 3


@pytest.mark.parametrize(
    "path", sorted((ROOT / "benchmarks" / "mappings").glob("*.yaml")), ids=lambda p: p.stem
)
def test_the_benchmark_mappings_parse(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    mapping = parse_mapping(data, data["entity"])
    assert mapping.id_column and mapping.fields


@pytest.mark.parametrize(
    ("body", "row", "cells"),
    [
        ("id,first_name,last_name\n1,Ann,Lee\n2,Bob,Ray,extra\n", 2, 4),
        # The first data row too long: pandas would take its first cell for an index and shift the rest.
        ("id,first_name,last_name\n1,Ann,Lee,extra\n2,Bob,Ray\n", 1, 4),
        ("id,first_name,last_name\n1,Ann,Lee\n2,Bob\n3,Cy,Day\n", 2, 2),
    ],
    ids=["long", "long-first", "short"],
)
def test_a_ragged_row_is_an_error_naming_the_row(tmp_path: Path, body: str, row: int, cells: int) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(body)
    with pytest.raises(DedupeInputError, match=f"row {row} has {cells} cells but the header has 3"):
        read_table(path)
    code, _, err = run_cli("dedupe", str(path), "--entity", "contact")
    assert code == 1 and f"row {row} has {cells} cells" in err and "Traceback" not in err
    assert not (tmp_path / "ragged.deduped.csv").exists()


def test_the_delimiter_is_detected_or_given(tmp_path: Path) -> None:
    rows = "id;first_name;last_name;email\n1;Ann;Lee;ann@example.com\n2;Ann;Lee;ann@example.com\n3;Bob;Ray;bob@x.org\n"
    path = tmp_path / "semi.csv"
    path.write_text(rows)
    table = read_table(path)
    assert list(table.columns) == ["id", "first_name", "last_name", "email"]
    assert table["email"].tolist()[0] == "ann@example.com"
    piped = tmp_path / "piped.csv"
    piped.write_text(rows.replace(";", "|"))
    assert read_table(piped).equals(table)
    # Given explicitly, the delimiter wins over detection: here a comma inside a cell makes a row
    # ragged, and the error says which delimiter it read with.
    commas = tmp_path / "commas.csv"
    commas.write_text("id;name\n1;Lee, Ann\n2;Ray\n")
    assert list(read_table(commas).columns) == ["id", "name"]
    with pytest.raises(DedupeInputError, match=r"row 1 has 2 cells but the header has 1 .delimiter ','"):
        read_table(commas, sep=",")
    with pytest.raises(DedupeInputError, match="one character"):
        read_table(path, sep=";;")
    code, lines, err = run_cli("dedupe", str(path), "--entity", "contact", "--threshold", "0.5")
    assert code == 0, err
    assert lines[0]["records"] == 3
    code, _, err = run_cli("dedupe", str(path), "--entity", "contact", "--sep", ";", "--threshold", "0.5")
    assert code == 0, err


def test_u_is_sampled_from_pairs_in_proportion_to_the_file() -> None:
    assert u_pairs_for(1_000) == MIN_U_PAIRS  # a small file: a million pairs, not all 5.6 M
    assert u_pairs_for(50_000) == 5_000_000
    assert u_pairs_for(200_000) == 20_000_000  # capped by max_pairs (5 M by default) in fit_file


def test_a_mapping_that_is_not_yaml_is_one_line_naming_line_and_column(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text("entity: contact\nfields:\n  first_name: [unclosed\n")
    with pytest.raises(DedupeInputError) as caught:
        load_mapping(mapping, "contact")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"mapping file {str(mapping)!r} is not valid YAML at line 4, column 1: ")
