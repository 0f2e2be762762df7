"""Match settings as code: they build, phrases fit the levels, the fingerprint tracks the comparisons."""

from __future__ import annotations

import re

import duckdb
import pytest
import splink.comparison_library as cl
from splink import block_on

from crm_hygiene.matching import settings as settings_module
from crm_hygiene.matching.inputs import MATCH_COLUMNS
from crm_hygiene.matching.name_grams import signature
from crm_hygiene.matching.settings import (
    Comparison,
    blocking_rules,
    comparisons,
    level_phrases,
    match_settings,
    settings_fingerprint,
    tf_columns,
    training_rules,
)
from crm_hygiene.model.records import Entity

ENTITIES = (Entity.CONTACT, Entity.COMPANY)


@pytest.mark.parametrize("entity", ENTITIES)
def test_settings_build_for_duckdb(entity: Entity) -> None:
    settings = match_settings(entity).get_settings("duckdb")
    names = [c.output_column_name for c in settings.comparisons]
    assert names == [c.name for c in comparisons(entity)]
    assert len(set(names)) == len(names)
    assert settings._link_type == "dedupe_only"


@pytest.mark.parametrize("entity", ENTITIES)
def test_every_column_read_is_a_match_input_column(entity: Entity) -> None:
    sql = " ".join(
        level["sql_condition"]
        for c in comparisons(entity)
        for level in c.creator.create_comparison_dict("duckdb")["comparison_levels"]
    )
    sql += " ".join(rule.get_blocking_rule("duckdb").blocking_rule_sql for rule in blocking_rules(entity))
    read = set(re.findall(r'"?([a-z_]+)_[lr]"', sql)) | set(re.findall(r'[lr]\."([a-z_]+)"', sql))
    assert read, "the regexes found no column at all"
    assert read <= set(MATCH_COLUMNS[entity])


@pytest.mark.parametrize("entity", ENTITIES)
def test_one_phrase_per_non_null_level(entity: Entity) -> None:
    phrases = level_phrases(entity)
    for c in comparisons(entity):
        assert len(phrases[c.name]) == c.creator.num_non_null_levels, c.name
        assert phrases[c.name][0].startswith("same"), c.name
        assert phrases[c.name][-1].startswith("different"), c.name


def test_term_frequency_columns() -> None:
    assert tf_columns(Entity.CONTACT) == ["first_name_key", "last_name_key", "company_key", "title", "city"]
    assert tf_columns(Entity.COMPANY) == ["name_rarest_token", "city"]


def test_training_rules_cover_each_other() -> None:
    for entity in ENTITIES:
        rules = training_rules(entity)
        assert len(rules.em) >= 2 and 0 < rules.recall <= 1 and rules.deterministic


def test_fingerprint_is_stable_and_per_entity() -> None:
    contact = settings_fingerprint(Entity.CONTACT)
    assert re.fullmatch(r"[0-9a-f]{16}", contact)
    assert settings_fingerprint(Entity.CONTACT) == contact
    assert settings_fingerprint(Entity.COMPANY) != contact


def test_fingerprint_follows_comparisons_not_blocking(monkeypatch: pytest.MonkeyPatch) -> None:
    before = settings_fingerprint(Entity.CONTACT)
    monkeypatch.setitem(settings_module._BLOCKING, Entity.CONTACT, (block_on("city"),))
    assert settings_fingerprint(Entity.CONTACT) == before

    original = settings_module._COMPARISONS[Entity.CONTACT]

    def with_other_city() -> list[Comparison]:
        changed = [c for c in original() if c.name != "city"]
        return [*changed, Comparison(cl.ExactMatch("city"), ("same city", "different city"))]

    monkeypatch.setitem(settings_module._COMPARISONS, Entity.CONTACT, with_other_city)
    assert settings_fingerprint(Entity.CONTACT) != before


def test_fingerprint_follows_the_input_version(monkeypatch: pytest.MonkeyPatch) -> None:
    before = settings_fingerprint(Entity.COMPANY)
    monkeypatch.setattr(settings_module, "INPUT_VERSION", settings_module.INPUT_VERSION + 1)
    assert settings_fingerprint(Entity.COMPANY) != before


def test_no_settings_for_employment() -> None:
    with pytest.raises(ValueError, match="no matching"):
        match_settings(Entity.EMPLOYMENT)


def test_a_contact_city_shared_with_the_company_weighs_nothing() -> None:
    """Colleagues share the office's city: with the company agreeing, the city is a null level."""
    city = next(c for c in comparisons(Entity.CONTACT) if c.name == "city")
    levels = city.creator.get_comparison("duckdb").as_dict()["comparison_levels"]
    assert [bool(level.get("is_null_level")) for level in levels] == [True, True, False, False, False]
    condition = levels[1]["sql_condition"]

    def gamma(left: dict[str, str | None], right: dict[str, str | None]) -> bool:
        columns = ("city", "company_id", "company_key")
        values = [left.get(c) for c in columns] + [right.get(c) for c in columns]
        names = [f'"{c}_l"' for c in columns] + [f'"{c}_r"' for c in columns]
        row = duckdb.sql(
            f"SELECT coalesce({condition}, false) FROM (SELECT "
            + ", ".join(f"${i + 1}::VARCHAR AS {n}" for i, n in enumerate(names))
            + ")",
            params=values,
        ).fetchall()
        return bool(row[0][0])

    assert gamma({"city": "leeds", "company_key": "acme"}, {"city": "leeds", "company_key": "acme"})
    assert gamma({"city": "leeds", "company_id": "C1"}, {"city": "leeds", "company_id": "C1"})
    assert not gamma({"city": "leeds", "company_key": "acme"}, {"city": "leeds", "company_key": "zeta"})
    assert not gamma({"city": "leeds"}, {"city": "leeds"})
    assert not gamma({"city": "leeds", "company_key": "acme"}, {"city": "york", "company_key": "acme"})
    assert level_phrases(Entity.CONTACT)["city"] == ("same city", "cities similar", "different city")


def _holds(condition: str, left: dict[str, object], right: dict[str, object]) -> bool:
    """Whether a level's SQL condition holds for one pair (lists as VARCHAR[] or, of numbers,
    BIGINT[]; text as VARCHAR)."""
    names = sorted(set(left) | set(right))
    values = [left.get(n) for n in names] + [right.get(n) for n in names]
    columns = [f'"{n}_l"' for n in names] + [f'"{n}_r"' for n in names]
    lists = {n for n in names if isinstance(left.get(n), list) or isinstance(right.get(n), list)}
    numbers = {
        n for n in lists if any(isinstance(v, int) for v in (left.get(n) or []) + (right.get(n) or []))
    }
    types = ["BIGINT[]" if n in numbers else "VARCHAR[]" if n in lists else "VARCHAR" for n in names] * 2
    row = duckdb.sql(
        f"SELECT coalesce({condition}, false) FROM (SELECT "
        + ", ".join(f"${i + 1}::{t} AS {c}" for i, (c, t) in enumerate(zip(columns, types, strict=True)))
        + ")",
        params=values,
    ).fetchall()
    return bool(row[0][0])


def _condition(entity: Entity, comparison: str, label: str) -> str:
    found = next(c for c in comparisons(entity) if c.name == comparison)
    levels = found.creator.get_comparison("duckdb").as_dict()["comparison_levels"]
    return next(level["sql_condition"] for level in levels if level.get("label_for_charts") == label)


def test_company_names_with_the_same_words_one_typo_each() -> None:
    condition = _condition(Entity.COMPANY, "name", "the same words, each as written or one edit off")

    def same(a: str, b: str) -> bool:
        def side(name: str) -> dict[str, object]:
            return {"name_tokens": sorted(name.split()), "name_key": name.replace(" ", "")}

        return _holds(condition, side(a), side(b))

    assert same("electronics koninkl philips", "electronics konink philips")
    assert same("unilever", "unilver")
    assert not same("akzo nobel", "akzo")  # a word more is another name (a subsidiary)
    assert not same("dsm", "dsn")  # short words: one edit is another word
    assert not same("electronics koninkl philips", "electronics koninkl sony")
    assert level_phrases(Entity.COMPANY)["name"][1] == "same words but a typo"


def test_company_names_written_alike_in_another_order_run_together_or_a_word_more() -> None:
    alike = _condition(Entity.COMPANY, "name", "name trigrams: Dice >= 0.8")
    loosely = _condition(Entity.COMPANY, "name", "name trigrams: Dice >= 0.65")

    def side(name: str) -> dict[str, object]:
        return {"name_grams": signature(name.split())}

    def level(a: str, b: str) -> str:
        if _holds(alike, side(a), side(b)):
            return "alike"
        return "loosely" if _holds(loosely, side(a), side(b)) else "no"

    assert level("philips gloeilampenfabrieken", "philipsgloeilampenfabrieken") == "alike"
    assert level("brocades gist", "gistbrocades") == "alike"
    assert level("nobel akzo", "akzo nobel") == "alike"
    assert level(
        "henry booth house jelly bean learining center", "henry booth house jelly learning center"
    ) == ("alike")
    assert level("carole robertson center learning", "carole robertson center roosevelt") == "loosely"
    assert level("dsm", "dsm ip assets") == "no"  # two words more: a subsidiary
    assert level("easter seals", "salvation army") == "no"
    assert level_phrases(Entity.COMPANY)["name"][3:5] == (
        "names written alike",
        "names written loosely alike",
    )


def test_first_and_last_name_swapped_with_a_typo() -> None:
    condition = _condition(Entity.CONTACT, "first_name", "first and last name swapped")

    def swapped(a: tuple[str, str], b: tuple[str, str]) -> bool:
        return _holds(
            condition,
            {"first_name_key": a[0], "last_name_key": a[1]},
            {"first_name_key": b[0], "last_name_key": b[1]},
        )

    assert swapped(("theo", "white"), ("white", "theo"))
    assert swapped(("dixon", "robyn"), ("roryn", "dixon"))
    assert not swapped(("theo", "white"), ("theo", "white"))
    assert not swapped(("theo", "white"), ("white", "anna"))


def test_a_company_phone_shared_by_names_with_nothing_in_common_weighs_nothing() -> None:
    # Two restaurants of one hotel answer on its number: "binions coffee shop" and "the
    # steakhouse" at 128 Fremont St. merged on number and address.
    condition = _condition(Entity.COMPANY, "phone", "same phone, names with nothing in common")

    def unlike(a: str | None, b: str | None) -> bool:
        def side(name: str | None) -> dict[str, object]:
            return {
                "phone": "+17023821600",
                "name_guard_key": None if name is None else name.replace(" ", ""),
                "name_guard_tokens": None if name is None else name.split(),
            }

        return _holds(condition, side(a), side(b))

    assert unlike("binions coffee shop", "steakhouse")
    assert not unlike("fenix argyle", "fenix")  # a word in common
    assert not unlike("grill alley", "grill")
    assert not unlike("binions coffee shop", None)  # a name missing: the number decides


@pytest.mark.parametrize("edits", [1, 2])
def test_gated_edit_distance_levels_agree_with_the_plain_distance(edits: int) -> None:
    # The gate only skips pairs that cannot be within `edits`: every pair gets the same answer.
    values = ["ab12cd", "ab12ce", "b12cd", "xab12cd", "ba12cd", "zz", "zy", "a", "", "1971-06-24"]
    values += ["1971-06-42", "1971-05-24", "1917-06-24", "1971-6-24", "abc", "bac", "acb", "cba"]
    condition = settings_module._within_edits("v", edits).get_comparison_level("duckdb").sql_condition
    for left in values:
        for right in values:
            plain = duckdb.sql("SELECT damerau_levenshtein($1, $2) <= $3", params=[left, right, edits])
            assert _holds(condition, {"v": left}, {"v": right}) == plain.fetchall()[0][0], (left, right)


def test_a_date_one_digit_off_is_found_where_the_plain_distance_finds_it() -> None:
    dates = ["1971-06-24", "1971-06-25", "1971-05-24", "1981-06-24", "1971-06-42", "1917-06-24"]
    dates += ["1972-07-24", "2001-01-01", "2001-10-01"]
    condition = settings_module._one_digit_off("d").get_comparison_level("duckdb").sql_condition
    for left in dates:
        for right in dates:
            plain = duckdb.sql("SELECT damerau_levenshtein($1, $2) <= 1", params=[left, right])
            assert _holds(condition, {"d": left}, {"d": right}) == plain.fetchall()[0][0], (left, right)
