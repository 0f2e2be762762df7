"""A file's model leaves out the comparisons of columns no two records have: same scores, less work."""

from __future__ import annotations

import copy

import duckdb
import pandas as pd
import pytest

from crm_hygiene.matching.empty_comparisons import null_level_columns, split_empty
from crm_hygiene.matching.files import dedupe_table
from crm_hygiene.matching.inputs import as_arrow, match_input
from crm_hygiene.matching.settings import comparisons
from crm_hygiene.model.records import Entity
from tests.matching.matching_demo import frame

ENTITIES = (Entity.CONTACT, Entity.COMPANY)


def _levels_reached(con: duckdb.DuckDBPyConnection, comparison: object, pairs: str) -> set[str]:
    """The labels of the levels the pairs land on, Splink's way: the first level whose condition holds."""
    levels = copy.deepcopy(comparison.creator).get_comparison("duckdb").comparison_levels  # type: ignore[attr-defined]
    whens = " ".join(
        f"WHEN {level.sql_condition} THEN {i}" for i, level in enumerate(levels) if not level._is_else_level
    )
    reached = con.execute(f"SELECT DISTINCT CASE {whens} ELSE -1 END FROM {pairs}").fetchall()
    return {"null" if levels[i].is_null_level else ("else" if i < 0 else "other") for (i,) in reached}


@pytest.mark.parametrize("entity", ENTITIES, ids=lambda e: e.value)
def test_a_record_without_a_comparisons_null_level_columns_puts_every_pair_on_its_null_level(
    entity: Entity,
) -> None:
    """Why leaving the comparison out changes no score: its null level weighs nothing."""
    records = match_input(entity, frame(entity)).head(300).reset_index(drop=True)
    con = duckdb.connect()
    checked = 0
    for comparison in comparisons(entity):
        columns = null_level_columns(comparison)
        assert columns, f"{comparison.name} has a null level"
        blanked = records.copy()
        blanked[list(columns)] = None
        con.register("full_records", as_arrow(entity, records))
        con.register("blank_records", as_arrow(entity, blanked))
        names = list(records.columns)
        both = ", ".join(f'l."{c}" AS "{c}_l", r."{c}" AS "{c}_r"' for c in names)
        con.execute(f"CREATE OR REPLACE TABLE pairs AS SELECT {both} FROM full_records l, blank_records r")
        con.execute(f"INSERT INTO pairs SELECT {both} FROM blank_records l, full_records r")
        assert _levels_reached(con, comparison, "pairs") == {"null"}, comparison.name
        # The full records do reach other levels: the check is not vacuous.
        con.execute(f"CREATE OR REPLACE TABLE same AS SELECT {both} FROM full_records l, full_records r")
        assert _levels_reached(con, comparison, "same") - {"null"}, comparison.name
        checked += 1
    assert checked == len(comparisons(entity))


def test_split_empty_keeps_what_two_records_have_and_names_the_rest() -> None:
    records = match_input(Entity.CONTACT, frame(Entity.CONTACT)).head(50).reset_index(drop=True)
    records["title"] = None
    records["phone"] = None
    records.loc[3, "phone"] = "+15550100"  # one record: still no pair to compare
    records["street_key"] = None
    records["street_number"] = None
    records.loc[[4, 9], "street_key"] = "main st"  # two records: compared
    con = duckdb.connect()
    con.register("records", as_arrow(Entity.CONTACT, records))
    kept, empty = split_empty(con, "records", comparisons(Entity.CONTACT))
    assert empty == ["phone", "title"]
    assert [c.name for c in kept] == [c.name for c in comparisons(Entity.CONTACT) if c.name not in empty]


def _file() -> pd.DataFrame:
    """Demo contacts as a file with names, e-mail and city, and a phone column nobody filled."""
    contacts = frame(Entity.CONTACT).head(600)
    table = contacts[["id", "first_name", "last_name", "email", "city"]].astype(object).reset_index(drop=True)
    table["phone"] = None
    return table


def test_a_file_scores_every_pair_alike_without_the_comparisons_of_its_empty_columns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from crm_hygiene.matching import model
    from crm_hygiene.matching.file_mapping import parse_mapping

    fields = {
        "first_name": "first_name",
        "last_name": "last_name",
        "email": "email",
        "city": "city",
        "phone": "phone",
    }
    mapping = parse_mapping({"entity": "contact", "id": "id", "fields": fields}, Entity.CONTACT)
    said: list[str] = []
    lean = dedupe_table(_file(), Entity.CONTACT, mapping, progress=said.append)
    left_out = [m for m in said if "not compared" in m]
    assert len(left_out) == 1, said
    assert all(name in left_out[0] for name in ("phone", "title", "street", "postcode")), left_out
    assert not any(name in left_out[0] for name in ("email", "first_name", "last_name", "city"))

    monkeypatch.setattr(model, "split_empty", lambda con, table, candidates: (list(candidates), []))
    full = dedupe_table(_file(), Entity.CONTACT, mapping)
    assert lean.output["cluster_id"].tolist() == full.output["cluster_id"].tolist()
    assert lean.output["match_probability"].notna().sum() > 0, "some records have a match to compare"
    pd.testing.assert_series_equal(
        lean.output["match_probability"], full.output["match_probability"], rtol=1e-9
    )
