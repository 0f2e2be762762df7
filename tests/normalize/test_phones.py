"""Phone numbers: national and international writing, extensions, hostile input, demo truth restored."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_hygiene.demo import DemoConfig, generate_demo_crm
from crm_hygiene.model.records import Entity
from crm_hygiene.normalize import base, phones
from crm_hygiene.normalize.base import BASE_COLUMNS
from crm_hygiene.normalize.phones import COLUMNS, normalize_phone, normalize_phones


def one(text: object, region: object = None) -> pd.Series:
    """The normalized row of a single value, through the public column API."""
    frame = normalize_phones(pd.Series([text], dtype=object), pd.Series([region], dtype=object))
    return frame.iloc[0]


# (written, record's country, canonical value, phone_type, number's region)
INTERNATIONAL = [
    # United Kingdom
    ("020 7946 0018", "GB", "+442079460018", "fixed_line", "GB"),
    ("(020) 7946 0018", "GB", "+442079460018", "fixed_line", "GB"),
    ("+44 20 7946 0018", None, "+442079460018", "fixed_line", "GB"),
    ("+44 (0)20 7946 0018", None, "+442079460018", "fixed_line", "GB"),
    ("0044 20 7946 0018", None, "+442079460018", "fixed_line", "GB"),
    ("0161 496 0000", "GB", "+441614960000", "fixed_line", "GB"),
    ("07400 123456", "GB", "+447400123456", "mobile", "GB"),
    ("+44 7400 123456", "DE", "+447400123456", "mobile", "GB"),
    # Germany
    ("030 12345678", "DE", "+493012345678", "fixed_line", "DE"),
    ("030/12345678", "DE", "+493012345678", "fixed_line", "DE"),
    ("(030) 1234 5678", "DE", "+493012345678", "fixed_line", "DE"),
    ("+49 (0)30 12345678", None, "+493012345678", "fixed_line", "DE"),
    ("+49-30-1234-5678", "US", "+493012345678", "fixed_line", "DE"),
    ("0151 23456789", "DE", "+4915123456789", "mobile", "DE"),
    ("0049 151 23456789", "FR", "+4915123456789", "mobile", "DE"),
    # France
    ("01 23 45 67 89", "FR", "+33123456789", "fixed_line", "FR"),
    ("01.23.45.67.89", "FR", "+33123456789", "fixed_line", "FR"),
    ("06-12-34-56-78", "FR", "+33612345678", "mobile", "FR"),
    ("+33 (0)6 12 34 56 78", None, "+33612345678", "mobile", "FR"),
    ("0033 1 23 45 67 89", "GB", "+33123456789", "fixed_line", "FR"),
    # India
    ("98123 45678", "IN", "+919812345678", "mobile", "IN"),
    ("+91 98123 45678", None, "+919812345678", "mobile", "IN"),
    ("+91-9812345678", "US", "+919812345678", "mobile", "IN"),
    ("091-9812345678", "IN", "+919812345678", "mobile", "IN"),
    ("022 2345 6789", "IN", "+912223456789", "fixed_line", "IN"),
    # Brazil
    ("(11) 95426-4981", "BR", "+5511954264981", "mobile", "BR"),
    ("+55 11 95426-4981", None, "+5511954264981", "mobile", "BR"),
    ("0xx11 95426-4981", "BR", "+5511954264981", "mobile", "BR"),
    ("(21) 2345-6789", "BR", "+552123456789", "fixed_line", "BR"),
    # Japan
    ("03-1234-5678", "JP", "+81312345678", "fixed_line", "JP"),
    ("090-1234-5678", "JP", "+819012345678", "mobile", "JP"),
    ("+81 (0)3-1234-5678", None, "+81312345678", "fixed_line", "JP"),
    ("０３－１２３４－５６７８", "JP", "+81312345678", "fixed_line", "JP"),  # full-width digits
    # United States and Canada (NANP numbers are fixed_line_or_mobile)
    ("(415) 555-0134", "US", "+14155550134", "fixed_line_or_mobile", "US"),
    ("415.555.0134", "US", "+14155550134", "fixed_line_or_mobile", "US"),
    ("1-415-555-0134", "US", "+14155550134", "fixed_line_or_mobile", "US"),
    ("+1 (415) 555-0134", None, "+14155550134", "fixed_line_or_mobile", "US"),
    ("011 49 30 12345678", None, "+493012345678", "fixed_line", "DE"),
    ("001 415 555 0134", "US", "+14155550134", "fixed_line_or_mobile", "US"),
    ("(416) 555-0199", "CA", "+14165550199", "fixed_line_or_mobile", "CA"),
    ("1-800-555-0199", "US", "+18005550199", "toll_free", "US"),
    # Australia
    ("(02) 9876 5432", "AU", "+61298765432", "fixed_line", "AU"),
    ("0412 345 678", "AU", "+61412345678", "mobile", "AU"),
    ("+61 412 345 678", None, "+61412345678", "mobile", "AU"),
    ("0011 44 20 7946 0018", "AU", "+442079460018", "fixed_line", "GB"),
    # Netherlands
    ("020 123 4567", "NL", "+31201234567", "fixed_line", "NL"),
    ("06 12345678", "NL", "+31612345678", "mobile", "NL"),
    ("+31 (0)6 12345678", None, "+31612345678", "mobile", "NL"),
    # Record's country in other spellings or none at all
    ("020 7946 0018", " gb ", "+442079460018", "fixed_line", "GB"),
    ("020 7946 0018", "UK", "+442079460018", "fixed_line", "GB"),
    ("'+44 20 7946 0018", None, "+442079460018", "fixed_line", "GB"),  # spreadsheet apostrophe
    ('="+44 20 7946 0018"', None, "+442079460018", "fixed_line", "GB"),  # spreadsheet formula text
    ("Tel: +33 1 23 45 67 89", None, "+33123456789", "fixed_line", "FR"),
    ("+800 1234 5678", None, "+80012345678", "toll_free", None),  # non-geographic
]


@pytest.mark.parametrize(("text", "region", "value", "phone_type", "number_region"), INTERNATIONAL)
def test_international_numbers(text, region, value, phone_type, number_region):
    row = one(text, region)
    assert row["value"] == value, row["reason"]
    assert row["valid"] is True
    assert row["reason"] is None
    assert row["e164"] == value
    assert row["extension"] is None
    assert row["phone_type"] == phone_type
    assert row["region"] == number_region
    assert row["rule"] == "phone_e164"
    assert 0.9 <= row["confidence"] < 1.0


@pytest.mark.parametrize(
    ("text", "region", "confidence"),
    [
        ("+44 20 7946 0018", "GB", 0.99),  # explicit country code
        ("+44 20 7946 0018", None, 0.99),
        ("00 44 20 7946 0018", "DE", 0.99),  # the region's own international prefix
        ("011 44 20 7946 0018", "US", 0.99),
        ("020 7946 0018", "GB", 0.95),  # read in the record's country
        ("(415) 555-0134", "US", 0.95),
        ("0049 30 12345678", "US", 0.97),  # another country's international prefix
        ("49 30 12345678", "DE", 0.90),  # country code without "+"
        ("091-9812345678", "IN", 0.90),  # trunk "0" before the country code
    ],
)
def test_confidence_follows_how_the_country_was_known(text, region, confidence):
    row = one(text, region)
    assert row["valid"] is True
    assert row["confidence"] == pytest.approx(confidence)


@pytest.mark.parametrize(
    ("text", "region", "value", "extension"),
    [
        ("(415) 555-0134 x204", "US", "+14155550134;ext=204", "204"),
        ("(415) 555-0134 x 204", "US", "+14155550134;ext=204", "204"),
        ("415-555-0134 ext. 204", "US", "+14155550134;ext=204", "204"),
        ("415-555-0134 Ext 204", "US", "+14155550134;ext=204", "204"),
        ("415-555-0134 extension 204", "US", "+14155550134;ext=204", "204"),
        ("(415) 555-0134 #204", "US", "+14155550134;ext=204", "204"),
        ("(415) 555-0134 (ext. 204)", "US", "+14155550134;ext=204", "204"),
        ("+1 415 555 0134;ext=204", None, "+14155550134;ext=204", "204"),
        ("tel:+1-415-555-0134;ext=204", None, "+14155550134;ext=204", "204"),
        ("0113 496 0000 ext 881", "GB", "+441134960000;ext=881", "881"),
        ("+49 30 12345678 x 12", None, "+493012345678;ext=12", "12"),
        ("(415) 555-0134 x0204", "US", "+14155550134;ext=204", "204"),  # leading zero dropped
    ],
)
def test_extensions(text, region, value, extension):
    row = one(text, region)
    assert row["value"] == value
    assert row["extension"] == extension
    assert row["e164"] == value.split(";")[0]
    assert row["valid"] is True


def test_canonical_value_is_left_alone():
    for text in ("+14155550134", "+14155550134;ext=204", "+442079460018"):
        row = one(text, "DE")
        assert row["value"] == text
        assert row["rule"] is None
        assert row["confidence"] == 1.0


# (written, record's country, reason)
INVALID = [
    ("020 7946 0018", None, "no country code and no known region"),
    ("020 7946 0018", "Germany", "no country code and no known region"),  # not an ISO code
    ("020 7946 0018", "XX", "no country code and no known region"),
    ("(415) 555-0134", "GB", "invalid for region GB"),
    ("(415) 555-0134", "JP", "invalid for region JP"),
    ("020 7946 0018", "US", "too long"),
    ("1234567890", "US", "invalid for region US"),
    ("000-000-0000", "US", "invalid for region US"),
    ("555-5555", "US", "invalid for region US"),
    ("+33 1 23", None, "too short"),
    ("+1 415 555 01", None, "too short"),
    ("+49 30 1234567890123456", None, "too long"),
    ("+99 1234567", None, "unknown country code"),
    ("+1", "US", "not a phone number"),
    ("n/a", "US", "not a phone number"),
    ("-", "US", "not a phone number"),
    ("?", "US", "not a phone number"),
    ("TBD", "US", "not a phone number"),
    ("see email", "US", "not a phone number"),
    ("call 415 555 0134 after 5", "US", "contains letters"),
    ("1-800-FLOWERS", "US", "contains letters"),
    ("+1 415 555 0134 / +1 212 555 0100", "US", "several numbers in one field"),
    ("020 7946 0018 or 07400 123456", "GB", "several numbers in one field"),
    ("+44 20 7946 0018; +44 7700 900123", "GB", "several numbers in one field"),
    ("☎ 415 555 0134", "US", "not a phone number"),
    ("📞📞📞", "US", "not a phone number"),
    ("415 555 0134 😀", "US", "not a phone number"),
    ("415\x00555\x070134", "US", "not a phone number"),
    ("=1+1", "US", "not a phone number"),
    ('=HYPERLINK("tel:4155550134")', "US", "contains letters"),
    ("'; DROP TABLE contacts; --", "US", "not a phone number"),
    ("1; DROP TABLE contacts", "US", "not a phone number"),
    ("<script>alert(1)</script>", "US", "not a phone number"),
]


@pytest.mark.parametrize(("text", "region", "reason"), INVALID)
def test_invalid_values_say_why(text, region, reason):
    row = one(text, region)
    assert row["valid"] is False
    assert row["reason"] == reason
    assert row["value"] is None
    assert row["rule"] is None
    assert row["confidence"] == 0.0
    assert all(row[column] is None for column in ("e164", "extension", "phone_type", "region"))


def test_missing_and_oversized_values():
    huge = "4" * 100_000
    values = pd.Series([None, np.nan, "", "   ", huge, "+14155550134"], dtype=object)
    started = time.perf_counter()
    out = normalize_phones(values, pd.Series(["US"] * len(values)))
    assert time.perf_counter() - started < 5
    assert out["valid"].tolist() == [None, None, None, None, False, True]
    assert out["value"].iloc[:4].isna().all()
    assert "too long" in out["reason"].iloc[4]


def test_numbers_stored_as_floats_and_ints():
    values = pd.Series([4155550134.0, 442079460018.0, 4155550134, np.nan])
    out = normalize_phones(values, pd.Series(["US", "GB", "US", "US"]))
    assert out["value"].tolist() == ["+14155550134", "+442079460018", "+14155550134", None]
    assert out["valid"].tolist() == [True, True, True, None]


def test_frame_shape_and_alignment():
    index = pd.Index([10, 3, 7], name="row")
    values = pd.Series(["+14155550134", "bad", None], index=index)
    out = normalize_phones(values, pd.Series(["US", "US", "US"], index=index))
    assert list(out.columns) == list(COLUMNS)
    assert list(out.columns[: len(BASE_COLUMNS)]) == list(BASE_COLUMNS)
    assert out.index.equals(index)
    assert out["confidence"].dtype == float
    assert out.loc[10, "value"] == "+14155550134"
    assert out.loc[3, "valid"] is False
    assert out.loc[7, "valid"] is None
    # Without a region column, only numbers with a country code are readable.
    alone = normalize_phones(values)
    assert alone.loc[10, "value"] == "+14155550134"


def test_region_column_must_align_with_values():
    with pytest.raises(ValueError, match="same index"):
        normalize_phones(pd.Series(["+14155550134"], index=[1]), pd.Series(["US"], index=[2]))


def test_parses_once_per_distinct_value_and_region(monkeypatch):
    calls = []
    real_parse = phonenumbers.parse

    def counting_parse(*args, **kwargs):
        calls.append(args[0])
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(phones.phonenumbers, "parse", counting_parse)
    values = pd.Series(["(415) 555-0134", "020 7946 0018"] * 500)
    regions = pd.Series(["US", "GB"] * 500)
    out = normalize_phones(values, regions)
    assert len(calls) == 2
    assert out["value"].nunique() == 2


def test_speed_on_repeated_values():
    rng = np.random.default_rng(3)
    distinct = pd.Series([f"({rng.integers(201, 990)}) 555-{i:04d}" for i in range(50_000)])
    distinct = pd.concat([distinct, pd.Series([f"+44 20 7946 {i:04d}" for i in range(500)])])
    values = pd.Series(distinct.to_numpy()[rng.integers(0, len(distinct), 200_000)])
    regions = pd.Series(np.full(len(values), "US", dtype=object))
    started = time.perf_counter()
    out = normalize_phones(values, regions)
    elapsed = time.perf_counter() - started
    print(f"200,000 phone values ({values.nunique()} distinct) in {elapsed:.1f} s")
    assert len(out) == 200_000
    assert elapsed < 30  # a few seconds on a laptop; generous for shared CI machines


# Property tests: whatever comes in, nothing raises, and the canonical value is a fixed point.

REGIONS = st.sampled_from(
    [None, "US", "GB", "DE", "FR", "IN", "BR", "JP", "AU", "CA", "NL", "XX", "", "Deutschland"]
)
PHONE_TEXT = st.text(alphabet="0123456789 +-().#/x'extEXT;=", max_size=40)
EXAMPLES = [
    phonenumbers.example_number_for_type(region, kind)
    for region in ("US", "GB", "DE", "FR", "IN", "BR", "JP", "AU", "CA", "NL", "IT", "ES", "MX", "CN")
    for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)
]
FORMATS = [
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.NATIONAL,
    phonenumbers.PhoneNumberFormat.RFC3966,
]


def assert_fixed_point(value: str, region: object) -> None:
    again = normalize_phone(value, region)
    assert again["value"] == value
    assert again["rule"] is None
    assert again["valid"] is True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=PHONE_TEXT, region=REGIONS)
def test_property_phone_like_text_is_idempotent(text, region):
    out = normalize_phones(pd.Series([text], dtype=object), pd.Series([region], dtype=object)).iloc[0]
    assert out["valid"] in (True, False, None)
    if out["value"] is not None:
        assert_fixed_point(out["value"], region)
        assert_fixed_point(out["value"], None)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60), region=REGIONS)
def test_property_any_text_never_raises(text, region):
    out = normalize_phones(pd.Series([text], dtype=object), pd.Series([region], dtype=object)).iloc[0]
    if out["value"] is not None:
        assert_fixed_point(out["value"], region)
    else:
        assert out["valid"] is None or out["reason"]


@settings(max_examples=300, deadline=None)
@given(
    example=st.sampled_from([e for e in EXAMPLES if e is not None]),
    number_format=st.sampled_from(FORMATS),
    extension=st.one_of(st.none(), st.integers(1, 99999).map(str)),
    written_as=st.sampled_from([" x{}", " ext. {}", " #{}", " (ext {})"]),
)
def test_property_real_numbers_in_any_format_come_back(example, number_format, extension, written_as):
    region = phonenumbers.region_code_for_number(example)
    text = phonenumbers.format_number(example, number_format)
    if extension is not None:
        text += written_as.format(extension)
    row = normalize_phone(text, region)
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    assert row["e164"] == e164
    assert row["value"] == (e164 if extension is None else f"{e164};ext={extension}")
    assert_fixed_point(row["value"], region)


# The demo CRM's ground truth: each corrupted phone value should come back as its true E.164.

# Kinds whose stored value no longer holds the true number, so no normalizer can restore it:
# "missing" (nothing stored), "garbage" (a placeholder such as "n/a" or "000-000-0000"),
# "truncated" (trailing digits lost) and "multiple" (two numbers in one field: the normalizer
# flags them rather than guessing which one the record means).
UNRECOVERABLE = {"missing", "garbage", "truncated", "multiple"}


@pytest.fixture(scope="module")
def demo():
    return generate_demo_crm(DemoConfig(contacts=3000, companies=600))


def true_countries(records: pd.DataFrame, field_truth: pd.DataFrame) -> pd.Series:
    """Each record's ISO country: the truth where the stored one is messy, else the stored code."""
    fixed = field_truth[field_truth["field"] == "country"].set_index("record_id")["true_value"]
    stored = records.set_index("id")["country"]
    stored = stored.where(stored.str.fullmatch("[A-Z]{2}", na=False), None)
    return fixed.reindex(stored.index).combine_first(stored)


def test_demo_phones_are_restored(demo):
    field_truth = demo.truth["field_truth"]
    restored, total = 0, 0
    for entity in (Entity.CONTACT, Entity.COMPANY):
        records = demo.records[entity]
        truth = field_truth[field_truth["entity"] == entity.value]
        country = true_countries(records, truth)
        stored = records.set_index("id")["phone"]
        out = normalize_phones(stored, country)

        corrupted = truth[truth["field"] == "phone"].set_index("record_id")
        recoverable = corrupted[~corrupted["corruption"].isin(UNRECOVERABLE)]
        hits = out["value"].reindex(recoverable.index) == recoverable["true_value"]
        print(f"{entity.value} phones restored: {hits.mean():.3f} of {len(hits)}")
        restored += int(hits.sum())
        total += len(hits)

        # Values the truth calls correct are already canonical: they stay as they are.
        fine = out[~out.index.isin(corrupted.index) & stored.notna()]
        assert len(fine) > 0
        assert (fine["value"] == stored.reindex(fine.index)).mean() >= 0.95
        assert fine["rule"].isna().all()

    rate = restored / total
    print(f"phone restore rate: {rate:.3f} of {total} recoverable corrupted values")
    # The rest are numbers the demo draws from ranges phonenumbers' metadata does not assign.
    assert rate >= 0.95


# The plain fast path: values written with digits and common punctuation only are read once per
# (digits, region). It must agree, row by row, with reading each value as typed.


def reference_row(text: object, region: object) -> dict:
    """What per_distinct + normalize_phone give one value (the pre-fast-path behaviour)."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return base.missing(phones.EXTRA_COLUMNS)
    text = text if isinstance(text, str) else str(text)
    if text.strip() == "":
        return base.missing(phones.EXTRA_COLUMNS)
    region = None if region is None or (isinstance(region, float) and np.isnan(region)) else region
    return dict(normalize_phone(text, region))


def assert_rows_match_reference(values: pd.Series, regions: pd.Series | None) -> pd.DataFrame:
    out = normalize_phones(values, regions)
    assert out.index.equals(values.index)
    assert list(out.columns) == list(COLUMNS)
    assert out["confidence"].dtype == float
    hints = [None] * len(values) if regions is None else list(regions)
    for position, (text, region) in enumerate(zip(values, hints, strict=True)):
        got = out.iloc[position].to_dict()
        want = {column: reference_row(text, region)[column] for column in COLUMNS}
        assert got == want, (text, region)
        assert all((got[c] is None) == (want[c] is None) for c in COLUMNS), (text, region)
    return out


# Plain values in many writings of a few numbers, values just outside "plain", and hostile ones.
FAST_PATH_TABLE = [
    ("(415) 555-0134", "US"), ("415.555.0134", "US"), ("415-555-0134", "US"), ("4155550134", "US"),
    ("+1 415 555 0134", "US"), ("+14155550134", "US"), ("+14155550134", None), ("+14155550134", "GB"),
    ("1 (415) 555-0134", "US"), ("001 415 555 0134", "US"), ("011 1 415 555 0134", "US"),
    ("  +1 (415) 555-0134  ", "CA"), ("(416) 555-0199", "CA"), ("1-800-555-0199", "CA"),
    ("+44 20 7946 0018", "US"), ("+44 (0)20 7946 0018", None), ("020 7946 0018", "GB"),
    ("020 7946 0018", " gb "), ("020 7946 0018", "UK"), ("020 7946 0018", "Germany"),
    ("020 7946 0018", None), ("020 7946 0018", "US"), ("0044 20 7946 0018", "DE"),
    ("0011 44 20 7946 0018", "AU"), ("49 30 12345678", "DE"), ("091-9812345678", "IN"),
    ("0049 30 12345678", "US"), ("+49-30-1234-5678", "FR"), ("06.12.34.56.78", "FR"),
    ("(11) 95426-4981", "BR"), ("03-1234-5678", "JP"), ("+800 1234 5678", None),
    ("+7 912 345-67-89", "RU"), ("8 (912) 345-67-89", "RU"), ("+1 441 295 1234", "US"),
    ("(441) 295-1234", "BM"), ("+44 1624 756789", "GB"), ("01624 756789", "IM"),
    # Plain but invalid: too short, too long, unknown codes, no region.
    ("123", "US"), ("12", "US"), ("+12", None), ("+1", "US"), ("555-5555", "US"), ("000-000-0000", "US"),
    ("+99 1234567", None), ("+0 44 20 7946 0018", None), ("+33 1 23", None), ("1" * 30, "US"),
    ("+" + "4" * 40, None), ("1234567890", "US"), ("(415) 555-0134", "JP"), ("..--()", "US"),
    ("-415-555-0134", "US"), (")415(555.0134", "US"), ("(((415)))555--0134", "US"),
    # Just outside plain: extensions, quotes, slashes, letters, float tails, other digits.
    ("(415) 555-0134 x204", "US"), ("415.555.0134 ext. 20", "US"), ("'(415) 555-0134", "US"),
    ('="+44 20 7946 0018"', None), ("030/12345678", "DE"), ("Tel: +33 1 23 45 67 89", None),
    ("4155550134.0", "US"), ("442079460018.0", "GB"), ("４１５５５５０１３４", "US"),
    ("+1 415 555 0134 / +1 212 555 0100", "US"), ("0xx11 95426-4981", "BR"), ("1+415 555 0134", "US"),
    ("+ +1 415 555 0134", "US"), ("(+44) 20 7946 0018", None), ("415 555 0134\t", "US"), ("n/a", "US"),
    # Missing and blank.
    (None, "US"), (np.nan, "US"), ("", "US"), ("   ", "GB"), ("+14155550134", np.nan),
]  # fmt: skip


def test_fast_path_agrees_with_reading_each_value_as_typed():
    rows = FAST_PATH_TABLE * 3  # every value repeated, among different neighbours
    values = pd.Series([text for text, _ in rows], dtype=object)
    regions = pd.Series([region for _, region in rows], dtype=object)
    # A non-default index, out of order, with a label repeated.
    index = pd.Index([f"c{(i * 37) % len(rows)}" for i in range(len(rows) - 1)] + ["c0"], name="id")
    values.index, regions.index = index, index
    out = assert_rows_match_reference(values, regions)
    assert out["valid"].eq(True).sum() > 40 and out["valid"].eq(False).sum() > 40
    assert_rows_match_reference(values, None)
    # Fast path and reference agree as whole frames too (dtypes and missing values included).
    reference = phones._by_text(
        values.reset_index(drop=True), regions.reset_index(drop=True), normalize_phone
    )
    assert out.reset_index(drop=True).equals(reference)


def test_plain_writings_of_one_number_share_one_parse(monkeypatch):
    calls = []
    real_parse = phonenumbers.parse

    def counting_parse(*args, **kwargs):
        calls.append(args[0])
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(phones.phonenumbers, "parse", counting_parse)
    writings = ["(415) 555-0134", "415.555.0134", "415-555-0134", "4155550134", " 415 555 0134 "]
    out = normalize_phones(pd.Series(writings * 10), pd.Series(["US"] * 50))
    assert calls == ["4155550134"]
    assert set(out["value"]) == {"+14155550134"}
    assert set(out["confidence"]) == {0.95}
    # The canonical writing keeps no rule even though it shares the reading.
    out = normalize_phones(pd.Series(["+1 415 555 0134", "+14155550134"]), pd.Series(["US", "US"]))
    assert out["rule"].tolist() == ["phone_e164", None]
    assert out["confidence"].tolist() == [0.99, 1.0]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("(415) 555-0134", "4155550134"), (" +1 415.555.0134 ", "+14155550134"), ("+44 (0)20 7946 0018", "+4402079460018"),
        ("123", "123"), ("12", None), ("+12", None), ("4155550134.0", None), ("415 555 0134 x2", None),
        ("030/12345678", None), ("1+2345", None), ("++1 415", None), ("４１５", None), ("415\t555", None),
        ("1" * 101, None),
    ],
)  # fmt: skip
def test_plain_key(text, key):
    assert phones._plain_key(text) == key


def public_region_and_type(number: phonenumbers.PhoneNumber, record_region: str | None) -> tuple:
    """The region and type as the public phonenumbers API gives them (the code before sharing)."""
    if (
        record_region is not None
        and phonenumbers.country_code_for_region(record_region) == number.country_code
        and phonenumbers.is_valid_number_for_region(number, record_region)
    ):
        region = record_region
    else:
        region = phonenumbers.region_code_for_number(number)
        if region is None or not phonenumbers.is_valid_number_for_region(number, region):
            region = None
    return region, phonenumbers.number_type(number)


def test_region_and_type_match_the_public_api():
    # Example numbers of every region and type (and one digit more or less), read against their
    # own region, a neighbour sharing the calling code, another country and none.
    kinds = [
        getattr(phonenumbers.PhoneNumberType, name)
        for name in dir(phonenumbers.PhoneNumberType)
        if name.isupper()
    ]
    numbers = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in kinds:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            for national in (
                example.national_number,
                example.national_number * 10 + 1,
                example.national_number // 10,
            ):
                numbers.append(
                    (
                        phonenumbers.PhoneNumber(country_code=example.country_code, national_number=national),
                        region,
                    )
                )
    for code in (800, 808, 870, 881, 882, 883, 888, 979):
        numbers.append((phonenumbers.example_number_for_non_geo_entity(code), None))
    assert len(numbers) > 4000
    checked = 0
    for number, region in numbers:
        if number is None:
            continue
        shared = phonenumbers.region_codes_for_country_code(number.country_code)
        for record_region in {region, shared[-1], "US", "GB", None}:
            assert phones._valid_region_and_type(number, record_region) == public_region_and_type(
                number, record_region
            )
            checked += 1
    assert checked > 15_000


# Hypothesis: any mix of plain, nearly plain and odd values, in any region, matches the reference.
PLAIN_TEXT = st.text(alphabet="0123456789 +-().", max_size=24)
NEAR_PLAIN_TEXT = st.text(alphabet="0123456789 +-().x#/'\t0123456789", max_size=24)
REAL_NUMBER_TEXT = st.builds(
    lambda example, number_format, dots: phonenumbers.format_number(example, number_format).replace(
        " ", "." if dots else " "
    ),
    st.sampled_from([e for e in EXAMPLES if e is not None]),
    st.sampled_from(FORMATS[:3]),
    st.booleans(),
)
ANY_VALUE = st.one_of(
    st.none(), st.just(""), PLAIN_TEXT, NEAR_PLAIN_TEXT, REAL_NUMBER_TEXT, st.text(max_size=12)
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(ANY_VALUE, REGIONS), min_size=1, max_size=30), with_region=st.booleans())
def test_property_fast_path_matches_reading_each_value(rows, with_region):
    values = pd.Series([text for text, _ in rows], dtype=object, index=range(100, 100 + 3 * len(rows), 3))
    regions = pd.Series([region for _, region in rows], dtype=object, index=values.index)
    assert_rows_match_reference(values, regions if with_region else None)
