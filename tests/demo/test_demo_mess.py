"""The records are messy the way real CRMs are: every kind of mess the product must clean shows up."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from crm_hygiene.demo.people import NICKNAMES
from crm_hygiene.demo.regions import US_STATES


def _shapes(values: pd.Series) -> pd.Series:
    """A value's format with the digits blanked out: "(415) 555-0134" -> "(999) 999-9999"."""
    return values.dropna().str.replace(r"\d", "9", regex=True)


def test_phones_come_in_many_formats(contacts: pd.DataFrame, companies: pd.DataFrame) -> None:
    phones = pd.concat([contacts["phone"], companies["phone"]])
    shapes = _shapes(phones).value_counts()
    assert len(shapes) >= 30
    for shape in ("(999) 999-9999", "999.999.9999", "+9 999 999 9999", "999 9999 9999", "99 99 99 99 99"):
        assert shape in shapes.index, shape
    assert phones.str.contains(r"^00\d", na=False).any()  # 0044 20 ...
    assert phones.str.contains(r"(?: x ?\d+| ext\.? \d+)$", case=False, na=False).any()
    assert phones.isin(["n/a", "N/A", "TBD", "000-000-0000", "see email", "?"]).any()
    assert 0.15 < contacts["phone"].isna().mean() < 0.4


def test_phones_cover_ten_countries(field_truth: pd.DataFrame) -> None:
    e164 = field_truth.loc[field_truth["field"] == "phone", "true_value"]
    codes = {
        code
        for code in ("1", "44", "49", "33", "91", "55", "81", "61", "31")
        if e164.str.startswith("+" + code).any()
    }
    assert len(codes) == 9  # US and Canada share +1


def test_countries_are_spelled_many_ways(contacts: pd.DataFrame, companies: pd.DataFrame) -> None:
    spellings = set(pd.concat([contacts["country"], companies["country"]]).dropna())
    assert len(spellings) >= 40
    for spelling in ("United States", "USA", "U.S.", "us", "Deutschland", "Germany", "DE", "UK", "England"):
        assert spelling in spellings, spelling
    assert spellings & {"Untied States", "Unites States", "United Sates", "Unted States"}


def test_us_states_appear_as_codes_and_as_names(contacts: pd.DataFrame) -> None:
    regions = set(contacts["region"].dropna())
    assert len(regions & set(US_STATES)) >= 20
    assert len(regions & set(US_STATES.values())) >= 20


def test_company_names_carry_legal_suffix_variants(companies: pd.DataFrame, contacts: pd.DataFrame) -> None:
    names = pd.concat([companies["name"], contacts["company_name"]]).dropna()
    suffixes = {
        "Inc": r"\bInc$",
        "Inc.": r" Inc\.$",
        ", Inc.": r", Inc\.$",
        "Incorporated": r" Incorporated$",
        "LLC": r" LLC$",
        "GmbH": r" GmbH$",
        "B.V.": r" B\.V\.$",
        "N.V.": r" N\.V\.$",
        "S.A.": r" S\.A\.$",
        "Pty Ltd": r" Pty Ltd$",
        "Ltd": r" Ltd$",
        "Limited": r" Limited$",
    }
    for suffix, pattern in suffixes.items():
        assert names.str.contains(pattern).any(), suffix
    assert names.str.isupper().any()
    bare = names[
        ~names.str.contains(r"(?:Inc|LLC|GmbH|Ltd|B\.?V|N\.?V|S\.?A|Corp|plc|PLC|KK|K\.K\.|Ltda|SAS)\.?$")
    ]
    assert len(bare) > 0.1 * len(names)


def test_websites_come_in_many_shapes(companies: pd.DataFrame) -> None:
    websites = companies["website"].dropna()
    assert websites.str.startswith("https://www.").any()
    assert websites.str.startswith("http://").any()
    assert websites.str.fullmatch(r"[a-z0-9-]+(\.[a-z]+)+").any()  # bare domain
    assert websites.str.startswith("WWW.").any()
    assert websites.str.contains(r"\.[a-z]+/[a-z]", regex=True).any()  # a path like /about
    assert 0.05 < companies["website"].isna().mean() < 0.25


def test_names_are_in_the_wrong_case_nicknamed_and_decorated(contacts: pd.DataFrame) -> None:
    first = contacts["first_name"].dropna()
    last = contacts["last_name"].dropna()
    assert (first.str.isupper() & (first.str.len() > 2)).any()
    assert (first.str.islower() & (first.str.len() > 2)).any()
    assert first.str.match(r"^(Dr\.?|Mr\.?|Mrs\.|Ms\.?|Prof\.) ").any()
    assert (first != first.str.strip()).any()
    assert first.str.contains(" ").any()  # full names typed into the first-name box
    nicknames = {short for shorts in NICKNAMES.values() for short in shorts}
    assert first.isin(nicknames).sum() > 20
    assert last.str.contains(r" (?:Jr\.?|III|II|MBA)$|, PhD$").any()


def test_some_names_are_not_in_latin_script(contacts: pd.DataFrame) -> None:
    names = contacts["last_name"].dropna()
    japanese = names.str.contains(r"[\u3040-\u30ff\u4e00-\u9fff]")
    devanagari = names.str.contains(r"[\u0900-\u097f]")
    assert japanese.any()
    assert devanagari.any()
    assert names.str.contains(r"[äöüßéèçãõ]").any()  # German, French, Portuguese


def test_emails_are_work_free_role_and_malformed(contacts: pd.DataFrame) -> None:
    emails = contacts["email"].dropna()
    assert emails.str.contains(r"@(?:gmail\.com|yahoo\.com|hotmail\.com)$", case=False).mean() > 0.05
    assert emails.str.match(r"^(info|sales|contact|support|hello|office|admin|team)@").any()
    assert emails.str.contains("@@", regex=False).any()
    assert emails.str.contains(" at ", regex=False).any()
    assert emails.str.contains("mailto:", case=False).any()
    assert emails.str.contains(r"<[^>]+@[^>]+>").any()
    assert (emails != emails.str.strip()).any()
    assert emails.str.contains(r"\+[a-z0-9]+@").any()  # plus tags
    assert emails.str.isupper().any()
    assert 0.04 < contacts["email"].isna().mean() < 0.2


def test_titles_are_abbreviated(contacts: pd.DataFrame) -> None:
    titles = set(contacts["title"].dropna())
    assert {"CEO", "VP Sales"} & titles
    assert titles & {"Chief Executive Officer", "Vice President, Sales"}
    assert any(re.search(r"\bSr\.? ", t) for t in titles)
    assert any(re.search(r"\bMgr\b", t) for t in titles)
    assert 0.1 < contacts["title"].isna().mean() < 0.35


@pytest.mark.parametrize(
    ("field", "low", "high"),
    [("street", 0.3, 0.7), ("city", 0.15, 0.45), ("postcode", 0.3, 0.6), ("country", 0.05, 0.25)],
)
def test_addresses_are_missing_at_realistic_rates(
    contacts: pd.DataFrame, field: str, low: float, high: float
) -> None:
    assert low < contacts[field].isna().mean() < high


def test_postcodes_lose_leading_zeros_and_spaces(field_truth: pd.DataFrame, contacts: pd.DataFrame) -> None:
    reformatted = field_truth[(field_truth["field"] == "postcode") & (field_truth["corruption"] == "format")]
    assert len(reformatted) > 0
    stored = contacts.set_index("id")["postcode"].reindex(reformatted["record_id"])
    assert (stored.str.len().to_numpy() != reformatted["true_value"].str.len().to_numpy()).any()
