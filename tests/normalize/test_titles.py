"""Job titles: spelled out, one word order, seniority and function, hostile input, demo restore rate."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_hygiene.demo import DemoConfig, DemoCrm, generate_demo_crm
from crm_hygiene.demo.titles import TITLE_VARIANTS
from crm_hygiene.model.records import Entity
from crm_hygiene.normalize import titles
from crm_hygiene.normalize.base import BASE_COLUMNS
from crm_hygiene.normalize.titles import COLUMNS, function, normalize_titles, seniority

SENIORITIES = {"c_level", "vp", "director", "manager", "individual_contributor", "owner_founder", "unknown"}
FUNCTIONS = {
    "sales", "marketing", "engineering", "product", "finance", "hr", "operations", "it", "legal",
    "customer_success", "executive", "data", "design", "other",
}  # fmt: skip


def _one(text: object) -> pd.Series:
    return normalize_titles(pd.Series([text], dtype=object)).iloc[0]


# typed -> (canonical, seniority, function)
TITLES = [
    ("VP Sales", "Vice President, Sales", "vp", "sales"),
    ("VP, Sales", "Vice President, Sales", "vp", "sales"),
    ("VP of Sales", "Vice President, Sales", "vp", "sales"),
    ("Vice President - Sales", "Vice President, Sales", "vp", "sales"),
    ("V.P. Sales", "Vice President, Sales", "vp", "sales"),
    ("Sales VP", "Vice President, Sales", "vp", "sales"),
    ("vp of sales & marketing", "Vice President, Sales & Marketing", "vp", "marketing"),
    ("SVP Global Sales", "Senior Vice President, Global Sales", "vp", "sales"),
    ("EVP, Operations", "Executive Vice President, Operations", "vp", "operations"),
    ("VP Eng.", "Vice President, Engineering", "vp", "engineering"),
    ("VPE", "Vice President, Engineering", "vp", "engineering"),
    ("Sr VP Mktg", "Senior Vice President, Marketing", "vp", "marketing"),
    ("VP and GM", "Vice President and General Manager", "vp", "executive"),
    ("CEO", "Chief Executive Officer", "c_level", "executive"),
    ("C.E.O.", "Chief Executive Officer", "c_level", "executive"),
    ("ceo", "Chief Executive Officer", "c_level", "executive"),
    ("CFO", "Chief Financial Officer", "c_level", "finance"),
    ("CTO", "Chief Technology Officer", "c_level", "engineering"),
    ("COO", "Chief Operating Officer", "c_level", "operations"),
    ("CMO", "Chief Marketing Officer", "c_level", "marketing"),
    ("CIO", "Chief Information Officer", "c_level", "it"),
    ("CRO", "Chief Revenue Officer", "c_level", "sales"),
    ("Chief Exec. Officer", "Chief Executive Officer", "c_level", "executive"),
    ("Chief Finance Officer", "Chief Financial Officer", "c_level", "finance"),
    ("CPO", "CPO", "c_level", "other"),  # Product, People or Procurement: kept
    ("Founder & CEO", "Founder & Chief Executive Officer", "owner_founder", "executive"),
    ("Co-Founder", "Co-Founder", "owner_founder", "executive"),
    ("Owner", "Owner", "owner_founder", "executive"),
    ("Product Owner", "Product Owner", "individual_contributor", "product"),
    ("MD", "Managing Director", "c_level", "executive"),
    ("Managing Dir.", "Managing Director", "c_level", "executive"),
    ("Mng. Director", "Managing Director", "c_level", "executive"),
    ("Pres.", "President", "c_level", "executive"),
    ("Marketing Director", "Director of Marketing", "director", "marketing"),
    ("Dir. Marketing", "Director of Marketing", "director", "marketing"),
    ("Director, Marketing", "Director of Marketing", "director", "marketing"),
    ("Dir. of Sales", "Director of Sales", "director", "sales"),
    ("Dir. Ops", "Director of Operations", "director", "operations"),
    ("Senior Marketing Director", "Senior Director of Marketing", "director", "marketing"),
    ("Director of Sales, EMEA", "Director of Sales, EMEA", "director", "sales"),
    ("Creative Director", "Creative Director", "director", "design"),
    ("Hd. Procurement", "Head of Procurement", "director", "operations"),
    ("Procurement Head", "Head of Procurement", "director", "operations"),
    ("IT Head", "Head of IT", "director", "it"),
    ("Head of Information Technology", "Head of IT", "director", "it"),
    ("head - data science", "Head of Data Science", "director", "data"),
    ("Sr. Software Eng.", "Senior Software Engineer", "individual_contributor", "engineering"),
    ("Snr. Software Engineer", "Senior Software Engineer", "individual_contributor", "engineering"),
    ("Senior SWE", "Senior Software Engineer", "individual_contributor", "engineering"),
    ("Software Dev", "Software Developer", "individual_contributor", "engineering"),
    ("Engr", "Engineer", "individual_contributor", "engineering"),
    ("Eng Manager", "Engineering Manager", "manager", "engineering"),
    ("Acct. Executive", "Account Executive", "individual_contributor", "sales"),
    ("AE", "Account Executive", "individual_contributor", "sales"),
    ("Account Exec", "Account Executive", "individual_contributor", "sales"),
    ("SDR", "Sales Development Representative", "individual_contributor", "sales"),
    ("Sales Dev. Rep.", "Sales Development Representative", "individual_contributor", "sales"),
    ("Bus. Dev. Manager", "Business Development Manager", "manager", "sales"),
    ("Product Mgr.", "Product Manager", "manager", "product"),
    ("PM", "Product Manager", "manager", "product"),
    ("Mgr, Procurement", "Procurement Manager", "manager", "operations"),
    ("Manager of Procurement", "Procurement Manager", "manager", "operations"),
    ("Ops Mgr", "Operations Manager", "manager", "operations"),
    ("Rev Ops Mgr", "Revenue Operations Manager", "manager", "operations"),
    ("RevOps Manager", "Revenue Operations Manager", "manager", "operations"),
    ("Cust. Success Mgr", "Customer Success Manager", "manager", "customer_success"),
    ("CSM", "Customer Success Manager", "manager", "customer_success"),
    ("HR Mgr", "Human Resources Manager", "manager", "hr"),
    ("Analyst, Data", "Data Analyst", "individual_contributor", "data"),
    ("Fin. Analyst", "Financial Analyst", "individual_contributor", "finance"),
    ("Exec Asst", "Executive Assistant", "individual_contributor", "other"),
    ("EA", "Executive Assistant", "individual_contributor", "other"),
    ("General Counsel", "General Counsel", "individual_contributor", "legal"),
    # Case: all upper or all lower becomes title case; known acronyms stay upper; mixed is kept.
    ("VICE PRESIDENT, ENGINEERING", "Vice President, Engineering", "vp", "engineering"),
    ("SENIOR SOFTWARE ENGINEER II", "Senior Software Engineer II", "individual_contributor", "engineering"),
    ("VP OF SALES, NYC", "Vice President, Sales, NYC", "vp", "sales"),
    ("qa lead", "QA Lead", "individual_contributor", "engineering"),
    ("saas account executive", "SaaS Account Executive", "individual_contributor", "sales"),
    ("head of it", "Head of IT", "director", "it"),
    ("co-founder", "Co-Founder", "owner_founder", "executive"),
    ("iOS Developer", "iOS Developer", "individual_contributor", "engineering"),
    ("Head of eCommerce", "Head of eCommerce", "director", "other"),
    ("Data Analyst", "Data Analyst", "individual_contributor", "data"),
    # Blanks and stray separators.
    ("  sales   manager ", "Sales Manager", "manager", "sales"),
    ("Sales\tManager", "Sales Manager", "manager", "sales"),
    ("Sales Manager.", "Sales Manager", "manager", "sales"),
    (",VP Sales,", "Vice President, Sales", "vp", "sales"),
    ("CEO\x00", "Chief Executive Officer", "c_level", "executive"),
    # Other scripts and languages are kept.
    ("营销经理", "营销经理", "unknown", "other"),
    ("Директор по продажам", "Директор по продажам", "unknown", "other"),
    ("Jefe de Ventas", "Jefe de Ventas", "unknown", "other"),
    ("C++ Developer", "C++ Developer", "individual_contributor", "engineering"),
    ("R&D Engineer", "R&D Engineer", "individual_contributor", "engineering"),
]


@pytest.mark.parametrize(("typed", "value", "level", "area"), TITLES, ids=[t[0] for t in TITLES])
def test_titles(typed: str, value: str, level: str, area: str) -> None:
    row = _one(typed)
    assert (row["value"], row["seniority"], row["function"]) == (value, level, area)
    assert row["valid"] is True and row["reason"] is None
    assert (row["rule"] is None) == (value == typed)


INVALID = [
    ('=HYPERLINK("http://x","CEO")', "spreadsheet formula"),
    ("+CEO", "spreadsheet formula"),
    ("'; DROP TABLE users; --", "';'"),
    ("<script>alert(1)</script>", "'<'"),
    ("🚀 Growth Hacker", "'🚀'"),
    ("12345", "no letters"),
    ("---", "spreadsheet formula"),
    ("...", "no letters"),
    ("x" * 300, "300 characters: longer than a job title"),
    ("Sales" * 20_000, "100000 characters: too long to parse"),
]


@pytest.mark.parametrize(("typed", "reason"), INVALID, ids=[t[:30] for t, _ in INVALID])
def test_invalid(typed: str, reason: str) -> None:
    row = _one(typed)
    assert row["valid"] is False and reason in row["reason"]
    assert row["value"] is None and row["rule"] is None and row["confidence"] == 0.0
    assert row["seniority"] is None and row["function"] is None


@pytest.mark.parametrize("typed", [None, float("nan"), "", "   ", "\x00\t"])
def test_missing(typed: object) -> None:
    row = _one(typed)
    assert row["value"] is None and row["valid"] is None and row["reason"] is None
    assert row["confidence"] == 1.0 and row["seniority"] is None


# Every way the demo writes a title: spelled out to its canonical title, upper and lower case too;
# except spellings that are another title, not an abbreviation of this one.
NOT_AN_ABBREVIATION = {
    "CEO & Co-Founder": "Chief Executive Officer & Co-Founder",  # a second role, kept
    "SVP Sales": "Senior Vice President, Sales",  # a senior VP is not a VP
    "Head of Purchasing": "Head of Purchasing",
    "Purchasing Manager": "Purchasing Manager",
    "IT Director": "Director of IT",
    "Software Dev": "Software Developer",
    "Finance Analyst": "Finance Analyst",
}
DEMO_SPELLINGS = [
    (written, canonical) for canonical, variants in TITLE_VARIANTS.items() for written, _ in variants
]


@pytest.mark.parametrize(("written", "canonical"), DEMO_SPELLINGS, ids=[w for w, _ in DEMO_SPELLINGS])
def test_demo_spellings(written: str, canonical: str) -> None:
    expected = NOT_AN_ABBREVIATION.get(written, canonical)
    out = normalize_titles(pd.Series([written, written.upper(), written.lower()]))
    assert out["value"].tolist() == [expected] * 3
    if written == canonical:
        assert out.loc[0, "rule"] is None and out.loc[0, "confidence"] == 1.0


def test_demo_canonical_titles_are_fixed_points() -> None:
    out = normalize_titles(pd.Series(list(TITLE_VARIANTS)))
    assert out["value"].tolist() == list(TITLE_VARIANTS)
    assert out["rule"].isna().all() and (out["confidence"] == 1.0).all()
    assert set(out["seniority"]) <= SENIORITIES - {"unknown"}
    assert set(out["function"]) <= FUNCTIONS


def test_confidence_of_rules() -> None:
    cases = {
        "Sales Manager ": ("title_whitespace", 0.99),
        "SALES MANAGER": ("title_case", 0.9),
        "Sales Mgr": ("title_abbreviation", 0.9),
        "CEO": ("title_acronym", 0.9),
        "Marketing Director": ("title_word_order", 0.9),
        "Chief Operations Officer": ("title_synonym", 0.8),
        "MD": ("title_acronym", 0.7),
        "PM": ("title_acronym", 0.6),
    }
    for typed, (rule, confidence) in cases.items():
        row = _one(typed)
        assert (row["rule"], row["confidence"]) == (rule, confidence), typed


def test_two_letter_acronyms_need_capitals_in_mixed_case() -> None:
    out = normalize_titles(pd.Series(["PM", "pm", "Pm", "HR", "Hr Lead", "hr lead"]))
    assert out["value"].tolist() == [
        "Product Manager", "Product Manager", "Pm", "Human Resources", "Hr Lead", "Human Resources Lead",
    ]  # fmt: skip


def test_seniority_and_function_rules() -> None:
    assert seniority("Chief Executive Officer") == "c_level"
    assert seniority("Vice President, Sales") == "vp"
    assert seniority("Senior Vice President") == "vp"
    assert seniority("President") == "c_level"
    assert seniority("Head of IT") == "director"
    assert seniority("Team Lead") == "manager"
    assert seniority("Sales Associate") == "individual_contributor"
    assert seniority("Founder & Chief Executive Officer") == "owner_founder"
    assert seniority("Volunteer") == "unknown"
    assert function("Sales Engineer") == "sales"
    assert function("Product Marketing Manager") == "marketing"
    assert function("IT Support Specialist") == "it"
    assert function("Talent Acquisition Partner") == "hr"
    assert function("Volunteer") == "other"


def test_contract_columns_and_index() -> None:
    index = pd.Index(["e3", "e1", "e2"], name="id")
    out = normalize_titles(pd.Series(["VP Sales", None, "CTO"], index=index))
    assert list(out.columns) == list(COLUMNS) and set(BASE_COLUMNS) <= set(out.columns)
    assert out.index.equals(index)
    assert out["value"].tolist() == ["Vice President, Sales", None, "Chief Technology Officer"]
    assert out["confidence"].dtype == float


def test_each_distinct_title_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    original = titles.normalize_title

    def counting(text: str) -> dict:
        seen.append(text)
        return dict(original(text))

    monkeypatch.setattr(titles, "normalize_title", counting)
    out = titles.normalize_titles(pd.Series(["VP Sales", "CEO", None, "VP Sales"] * 5000))
    assert sorted(seen) == ["CEO", "VP Sales"]
    assert out["value"].value_counts().to_dict() == {
        "Vice President, Sales": 10000,
        "Chief Executive Officer": 5000,
    }


TITLE_WORDS = st.sampled_from(
    ["VP", "vp", "Sr.", "SVP", "Director", "dir.", "of", "Head", "hd.", "Sales", "MKTG", "Eng.", "Dev", "Mgr",
     "manager", "CEO", "c.e.o.", "IT", "it", "HR", "PM", "Pm", "Information", "Technology", "Chief", "Officer",
     "Finance", "Operations", "Ops", "Rev", "&", "and", ",", "-", "/", "Analyst", "Co-Founder", "SaaS", "NYC",
     "ß", "İ", "Straße", "ﬁ", "营销", "Вице", "II", "(", ")", "Data", "Science", "Mng", "Fin"]
)  # fmt: skip
TITLE_TEXT = st.one_of(
    st.lists(TITLE_WORDS, min_size=1, max_size=6).map(" ".join),
    st.lists(TITLE_WORDS, min_size=1, max_size=4).map(",".join),
    st.text(max_size=25),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(TITLE_TEXT, min_size=1, max_size=30))
def test_normalizing_twice_changes_nothing(values: list[str]) -> None:
    out = normalize_titles(pd.Series(values, dtype=object))
    assert out["valid"].isin([True, False, None]).all()
    assert out["confidence"].between(0.0, 1.0).all()
    valid = out[out["valid"].eq(True)]
    assert set(valid["seniority"]) <= SENIORITIES and set(valid["function"]) <= FUNCTIONS
    again = normalize_titles(valid["value"])
    assert again["value"].equals(valid["value"])
    assert again["rule"].isna().all() and again["seniority"].equals(valid["seniority"])


@settings(max_examples=300, deadline=None)
@given(text=st.text())
def test_any_text_is_handled(text: str) -> None:
    row = titles.normalize_title(text)
    assert set(row) == set(COLUMNS)
    assert row["valid"] in (True, False, None)
    if row["valid"]:
        assert titles.normalize_title(row["value"])["value"] == row["value"]


# Demo restore rate: the share of messed-up titles given back exactly.
RESTORABLE_FLOORS = {"upper": 0.9, "lower": 0.9, "abbreviation": 0.9}
# Not restorable by a normalizer: a missing title, or an old title kept after a job change.
NOT_RESTORABLE = {"missing", "stale_employer"}


@pytest.fixture(scope="module")
def demo() -> DemoCrm:
    return generate_demo_crm(DemoConfig(contacts=3000, companies=600))


def test_demo_restore_rate(demo: DemoCrm) -> None:
    stored = pd.concat(
        [demo.records[entity].set_index("id")["title"] for entity in (Entity.CONTACT, Entity.EMPLOYMENT)]
    )
    out = normalize_titles(stored)
    truth = demo.truth["field_truth"]
    truth = truth[truth["field"] == "title"].copy()
    truth["restored"] = out.loc[truth["record_id"], "value"].to_numpy() == truth["true_value"].to_numpy()
    rates = truth.groupby("corruption", observed=True)["restored"].agg(["mean", "size"])
    print("\ntitles restored exactly, per corruption kind:\n" + rates.to_string())
    for kind, floor in RESTORABLE_FLOORS.items():
        assert rates.loc[kind, "mean"] >= floor, (kind, rates.loc[kind, "mean"])
    assert set(rates.index) - set(RESTORABLE_FLOORS) <= NOT_RESTORABLE
    assert rates.loc["missing", "mean"] == 0.0  # nothing is invented
    # Clean titles are left alone.
    clean = stored[~stored.index.isin(truth["record_id"]) & stored.notna()]
    assert (out.loc[clean.index, "value"] == clean).all()
