"""Match inputs: identity rules (role, invalid, free-mail), keys, the rarest token, the shared-value guard."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from crm_hygiene.matching import inputs
from crm_hygiene.matching.inputs import (
    MATCH_COLUMNS,
    SOURCE_COLUMNS,
    as_arrow,
    ensure_match_input,
    match_input,
    rarest_and_other_tokens,
    rarest_tokens,
)
from crm_hygiene.model.records import Entity
from tests.matching.matching_demo import frame


def contacts(*rows: dict[str, Any]) -> pd.DataFrame:
    """A normalized contact frame holding only the columns the matcher reads."""
    base = {c: None for c in SOURCE_COLUMNS[Entity.CONTACT]}
    base.update(status="active", email_valid=True, email_is_role=False)
    out = pd.DataFrame([{**base, "id": f"C{i}", **row} for i, row in enumerate(rows)])
    return out.astype({"email_valid": "boolean", "email_is_role": "boolean"})


def companies(*rows: dict[str, Any]) -> pd.DataFrame:
    base = {c: None for c in SOURCE_COLUMNS[Entity.COMPANY]}
    base.update(status="active")
    return pd.DataFrame([{**base, "id": f"A{i}", **row} for i, row in enumerate(rows)])


def test_contact_input_has_the_declared_columns_for_the_demo() -> None:
    source = frame(Entity.CONTACT)
    inputs = match_input(Entity.CONTACT, source)
    assert list(inputs.columns) == list(MATCH_COLUMNS[Entity.CONTACT])
    assert inputs["unique_id"].tolist() == source["id"].astype(str).tolist()
    table = as_arrow(Entity.CONTACT, inputs)
    assert all(table.schema.field(c).type == pa.string() for c in table.column_names)


def test_role_and_invalid_addresses_are_not_identity() -> None:
    inputs = match_input(
        Entity.CONTACT,
        contacts(
            {"email_key": "sales@acme.com", "email_is_role": True},
            {"email_key": "not-an-address", "email_valid": False},
            {"email_key": "jane.doe@acme.com", "first_name_key": "jane", "last_name_key": "doe"},
            {"email_key": None, "email_valid": None, "email_is_role": None},
        ),
    )
    assert inputs["email_key"].tolist() == [None, None, "jane.doe@acme.com", None]
    assert inputs["email_local"].tolist() == [None, None, "jane.doe", None]


def test_mailbox_handle_only_when_it_says_more_than_the_name() -> None:
    inputs = match_input(
        Entity.CONTACT,
        contacts(
            {"email_key": "jane.doe@acme.com", "first_name_key": "jane", "last_name_key": "doe"},
            {"email_key": "jthomas@acme.com", "first_name_key": "jeffrey", "last_name_key": "thomas"},
            {"email_key": "leah89@gmail.com", "first_name_key": "leah", "last_name_key": "bridges"},
            {"email_key": "bluefox@gmail.com", "first_name_key": "jane", "last_name_key": "doe"},
            {"email_key": "bluefox@gmail.com", "first_name_key": None, "last_name_key": None},
        ),
    )
    # The last one has no name to check the mailbox against: it proves nothing.
    assert inputs["email_handle"].tolist() == [None, None, "leah89", "bluefox", None]


def test_free_mail_shares_no_company_domain_and_text_is_cleaned() -> None:
    inputs = match_input(
        Entity.CONTACT,
        contacts(
            # company_domain comes from the normalizer, which leaves it empty for free mail.
            {"email_key": "a@gmail.com", "company_domain": None, "city": "  London ", "title": "CEO"},
            {"email_key": "b@acme.com", "company_domain": "acme.com", "city": "", "title": None},
        ),
    )
    assert inputs["company_domain"].tolist() == [None, "acme.com"]
    assert inputs["city"].tolist() == ["london", None]
    assert inputs["title"].tolist() == ["ceo", None]


def test_merged_records_are_left_out() -> None:
    inputs = match_input(
        Entity.CONTACT, contacts({"status": "active"}, {"status": "merged"}, {"status": "flagged"})
    )
    assert inputs["unique_id"].tolist() == ["C0", "C2"]


def test_training_may_keep_the_merged_records_as_known_duplicates() -> None:
    frame = contacts({"status": "active"}, {"status": "merged"}, {"status": "flagged"})
    out = match_input(Entity.CONTACT, frame, include_merged=True)
    assert len(out) == 3
    assert len(match_input(Entity.CONTACT, frame)) == 2, "prediction still leaves them out"


def test_values_shared_by_too_many_records_are_not_identity() -> None:
    rows = [{"phone_e164": "+15550000"}] * 3 + [{"phone_e164": "+15551111"}] * 2
    inputs = match_input(Entity.CONTACT, contacts(*rows), max_shared=2)
    assert inputs["phone"].tolist() == [None, None, None, "+15551111", "+15551111"]


def test_rarest_token_prefers_the_rare_word_then_the_alphabet() -> None:
    inputs = match_input(
        Entity.COMPANY,
        companies(
            {"name_key": "vexvexzoconsulting", "name_tokens": "vexvexzo consulting"},
            {"name_key": "acmeconsulting", "name_tokens": "acme consulting"},
            {"name_key": "acmegroup", "name_tokens": "acme group"},
            {"name_key": None, "name_tokens": None},
        ),
    )
    assert inputs["name_tokens"].tolist() == [
        ["consulting", "vexvexzo"],
        ["acme", "consulting"],
        ["acme", "group"],
        None,
    ]
    # consulting and acme are held by 2 records each: alphabetical order decides.
    assert inputs["name_rarest_token"].tolist() == ["vexvexzo", "acme", "group", None]


def test_a_typo_in_the_rarest_word_leaves_the_other_words_as_a_key() -> None:
    tokens = pd.Series(
        [
            ["electronics", "koninkl", "philips"],
            ["electronics", "konink", "philips"],
            ["electronics", "konink", "philips"],
            ["honeywell", "v"],
            None,
            ["vexvexzq", "widgets"],
            ["vexvexzo", "widgets"],
            ["vexvexzo", "widgets"],
            ["widgets", "zeta"],
        ],
        dtype=object,
    )
    rarest, others = rarest_and_other_tokens(tokens)
    assert rarest.tolist()[:5] == ["koninkl", "konink", "konink", "honeywell", None]
    # The mistyped name and the right one leave the same words, a blocking key they share;
    # one short word left ("v") is no key, one long word is.
    assert others.tolist() == ["electronics philips"] * 3 + [None, None] + ["widgets"] * 4


def test_rarest_tokens_of_nothing() -> None:
    assert rarest_tokens(pd.Series([None, None], dtype=object)).tolist() == [None, None]


def test_company_input_postcode_head_and_case() -> None:
    inputs = match_input(
        Entity.COMPANY,
        companies(
            {"name_tokens": "a", "postcode": "06744-8606", "country": "us", "website": "Acme.COM"},
            {"name_tokens": "b", "postcode": "ab7e 0sg", "country": "GB"},
            {"name_tokens": "c", "postcode": None},
        ),
    )
    assert inputs["postcode"].tolist() == ["06744-8606", "AB7E 0SG", None]
    assert inputs["postcode_head"].tolist() == ["06744", "AB7E", None]
    assert inputs["country"].tolist() == ["US", "GB", None]
    assert inputs["website"].tolist() == ["acme.com", None, None]


def test_empty_frame_and_all_null_columns_keep_their_types() -> None:
    empty = match_input(Entity.CONTACT, frame(Entity.CONTACT).iloc[:0])
    assert empty.empty and list(empty.columns) == list(MATCH_COLUMNS[Entity.CONTACT])
    nulls = match_input(Entity.COMPANY, companies({"name_tokens": None}, {"name_tokens": None}))
    table = as_arrow(Entity.COMPANY, nulls)
    # An all-None object column would reach DuckDB as type NULL without the declared schema.
    assert table.schema.field("city").type == pa.string()
    assert table.schema.field("name_tokens").type == pa.list_(pa.string())


def test_bad_frames_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="lacks"):
        match_input(Entity.CONTACT, pd.DataFrame({"id": ["a"]}))
    with pytest.raises(ValueError, match="unique"):
        match_input(Entity.CONTACT, contacts({"id": "x"}, {"id": "x"}))
    with pytest.raises(ValueError, match="no matching"):
        match_input(Entity.EMPLOYMENT, contacts({}))
    with pytest.raises(ValueError, match="lacks"):
        ensure_match_input(Entity.CONTACT, pd.DataFrame({"unique_id": ["a"]}))


def test_ensure_match_input_passes_inputs_through() -> None:
    inputs = match_input(Entity.CONTACT, contacts({}, {}))
    assert ensure_match_input(Entity.CONTACT, inputs) is inputs


def test_mailbox_names_that_cannot_be_checked_are_not_handles() -> None:
    inputs = match_input(
        Entity.CONTACT,
        contacts(
            {"email_key": "sotaro.fujiwara@a.jp", "first_name_key": "聡太郎", "last_name_key": "藤原"},
            {"email_key": "sotaro7@a.jp", "first_name_key": "聡太郎", "last_name_key": "藤原"},
            {"email_key": "christiane@nolo.fr", "first_name_key": "christiane", "last_name_key": "delahaye"},
            {"email_key": "leger.paul@a.fr", "first_name_key": "paul", "last_name_key": "léger"},
        ),
    )
    assert inputs["email_handle"].tolist() == [None, "sotaro7", None, None]


def test_text_is_computed_once_per_distinct_value_with_the_same_result() -> None:
    values = pd.Series([" Leeds ", None, "leeds", " Leeds ", 7, "", float("nan")], index=list("abcdefg"))
    assert inputs._text(values, lower=True).tolist() == ["leeds", None, "leeds", "leeds", "7", None, None]
    assert inputs._text(values, lower=True).index.tolist() == list("abcdefg")
    assert inputs._text(values, upper=True).tolist()[:3] == ["LEEDS", None, "LEEDS"]
    assert inputs._text(pd.Series([], dtype=object)).tolist() == []
    calls: list[int] = []

    def count(distinct: pd.Series) -> pd.Series:
        calls.append(len(distinct))
        return distinct.str.upper()

    assert inputs._per_value(pd.Series(["a", "b", "a", None, "a"]), count).tolist() == [
        "A",
        "B",
        "A",
        None,
        "A",
    ]
    assert calls == [2]
    assert inputs._ascii_letters(pd.Series(["Léger", None, "O'Neil"])).tolist() == ["leger", None, "oneil"]
