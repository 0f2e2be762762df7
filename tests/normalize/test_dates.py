"""Dates and timestamps to ISO 8601 UTC: ISO input, national orders, ambiguity, garbage, the demo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_hygiene.demo import DemoConfig, generate_demo_crm
from crm_hygiene.model.records import Entity
from crm_hygiene.normalize import dates
from crm_hygiene.normalize.countries import normalize_countries
from crm_hygiene.normalize.dates import COLUMNS, normalize_timestamps


def one(text: object, country: object = None) -> dict:
    countries = None if country is None else pd.Series([country], dtype=object)
    return (
        normalize_timestamps(pd.Series([text], dtype=object), dayfirst_countries=countries).iloc[0].to_dict()
    )


@pytest.mark.parametrize(
    ("text", "value", "rule", "confidence"),
    [
        ("2024-03-05T10:00:00+00:00", "2024-03-05T10:00:00+00:00", None, 1.0),
        ("2024-03-05", "2024-03-05", None, 1.0),
        ("2024-03-05T10:00:00Z", "2024-03-05T10:00:00+00:00", "timestamp_iso", 1.0),
        ("2024-03-05T11:30:00+01:00", "2024-03-05T10:30:00+00:00", "timestamp_iso", 1.0),
        ("2024-03-05T04:30:00-0530", "2024-03-05T10:00:00+00:00", "timestamp_iso", 1.0),
        ("2024-03-05T10:00:00.250Z", "2024-03-05T10:00:00.250000+00:00", "timestamp_iso", 1.0),
        (" 2024-03-05 ", "2024-03-05", "timestamp_iso", 1.0),
        ("2024-03-05 10:00:00", "2024-03-05T10:00:00+00:00", "timestamp_assumed_utc", 0.9),
        ("2024-03-05T10:00", "2024-03-05T10:00:00+00:00", "timestamp_assumed_utc", 0.9),
    ],
)
def test_iso_input(text: str, value: str, rule: str | None, confidence: float) -> None:
    row = one(text)
    assert (row["value"], row["valid"], row["rule"], row["confidence"]) == (value, True, rule, confidence)


def test_naive_and_aware_iso_in_one_column_keep_their_own_offsets() -> None:
    out = normalize_timestamps(pd.Series(["2024-03-05T23:30:00+05:00", "2024-03-05 10:00:00", "2024-03-06"]))
    assert out["value"].tolist() == ["2024-03-05T18:30:00+00:00", "2024-03-05T10:00:00+00:00", "2024-03-06"]


@pytest.mark.parametrize(
    ("text", "country", "value"),
    [
        ("05/03/2024", "GB", "2024-03-05"),
        ("05.03.2024", "DE", "2024-03-05"),
        ("05/03/2024", "FR", "2024-03-05"),
        ("05-03-2024", "IN", "2024-03-05"),
        ("05/03/2024", "BR", "2024-03-05"),
        ("5/3/24", "AU", "2024-03-05"),
        ("5-3-2024", "NL", "2024-03-05"),
        ("03/05/2024", "US", "2024-03-05"),
        ("03/05/2024", "CA", "2024-03-05"),
        ("03/05/2024", "JP", "2024-03-05"),  # year-first countries put the month before the day
        ("03/05/2024", None, "2024-03-05"),  # no country: month first
        ("03/05/2024", "xx", "2024-03-05"),
    ],
)
def test_ambiguous_orders_follow_the_country_with_low_confidence(
    text: str, country: str | None, value: str
) -> None:
    row = one(text, country)
    assert (row["value"], row["valid"], row["rule"], row["confidence"]) == (
        value,
        True,
        "date_ambiguous_order",
        0.6,
    )


@pytest.mark.parametrize(
    ("text", "country", "value", "rule", "confidence"),
    [
        ("13/03/2024", "US", "2024-03-13", "date_format", 0.95),  # 13 cannot be a month
        ("03/13/2024", "GB", "2024-03-13", "date_format", 0.95),
        ("05/05/2024", "GB", "2024-05-05", "date_format", 0.95),  # either way round the same day
        ("2024/03/05", "GB", "2024-03-05", "date_format", 0.95),  # a leading year is year-month-day
        ("20240305", "DE", "2024-03-05", "date_format", 0.95),
        ("2024-3-5", "US", "2024-03-05", "date_format", 0.95),
        ("5 March 2024", "GB", "2024-03-05", "date_format", 0.95),
        ("March 5, 2024", "US", "2024-03-05", "date_format", 0.95),
        ("Tue, 05 Mar 2024 10:00:00 +0100", "DE", "2024-03-05T09:00:00+00:00", "date_format", 0.95),
        ("2024-03-05 10:00 EST", "US", "2024-03-05T15:00:00+00:00", "date_format", 0.95),
        ("5 Mar 2024 14:30", "GB", "2024-03-05T14:30:00+00:00", "timestamp_assumed_utc", 0.9),
        ("2024-03-05 10:00 XYZ", "US", "2024-03-05T10:00:00+00:00", "timestamp_assumed_utc", 0.9),
        ("2024年3月5日", "JP", "2024-03-05", "date_format", 0.95),
        ("2024년 3월 5일", "KR", "2024-03-05", "date_format", 0.95),
        ("２０２４－０３－０５", "JP", "2024-03-05", "date_format", 0.95),
        ("٢٠٢٤-٠٣-٠٥", "EG", "2024-03-05", "date_format", 0.95),
        ("2024-03-05\x00", "US", "2024-03-05", "date_format", 0.95),
    ],
)
def test_other_formats(text: str, country: str, value: str, rule: str, confidence: float) -> None:
    row = one(text, country)
    assert (row["value"], row["valid"], row["rule"], row["confidence"]) == (value, True, rule, confidence)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("N/A", "not a calendar date"),
        ("last week", "not a calendar date"),
        ("tbd", "not a calendar date"),
        ("31/02/2021", "not a calendar date"),
        ("2021-02-31", "not a calendar date"),
        ("0000-00-00", "not a calendar date"),
        ("March 2021", "not a calendar date"),  # no day
        ("Tuesday", "not a calendar date"),
        ("44256", "not a calendar date"),
        ("1616457600", "not a calendar date"),
        ("1850-01-01", "year outside 1900–2100"),
        ("01/01/2150", "year outside 1900–2100"),
        ("🙂", "not a calendar date"),
        ("=NOW()", "not a calendar date"),
        ("'; DROP TABLE contacts; --", "not a calendar date"),
        ("\x00\x1b", "not a calendar date"),
    ],
)
def test_unparseable_input_is_invalid_with_a_reason(text: str, reason: str) -> None:
    row = one(text, "US")
    assert (row["value"], row["valid"], row["reason"], row["rule"], row["confidence"]) == (
        None,
        False,
        reason,
        None,
        0.0,
    )


def test_missing_long_numeric_and_typed_values() -> None:
    values = pd.Series(
        [None, "", "  ", "9" * 100_000, 20240305, 1.5, pd.Timestamp("2024-03-05T10:00Z")], dtype=object
    )
    out = normalize_timestamps(values)
    assert out["valid"].tolist() == [None, None, None, False, True, False, True]
    assert out["value"].tolist()[4:] == ["2024-03-05", None, "2024-03-05T10:00:00+00:00"]
    assert "too long" in out["reason"].iloc[3]


def test_typed_timestamp_column() -> None:
    values = pd.Series(pd.to_datetime(["2024-03-05T10:00:00Z", None], utc=True), index=[5, 9])
    out = normalize_timestamps(values)
    assert out.index.tolist() == [5, 9]
    assert out["value"].tolist() == ["2024-03-05T10:00:00+00:00", None]


def test_dayfirst_may_be_given_as_booleans() -> None:
    out = normalize_timestamps(pd.Series(["03/04/2021"] * 2), dayfirst_countries=pd.Series([True, False]))
    assert out["value"].tolist() == ["2021-04-03", "2021-03-04"]


def test_result_is_aligned_to_the_input_index() -> None:
    values = pd.Series(["2024-03-05", "05/03/2024", None, "2024-03-05"], index=[7, 7, 1, 0])
    out = normalize_timestamps(
        values, dayfirst_countries=pd.Series(["GB", "GB", "US", "US"], index=[7, 7, 1, 0])
    )
    assert list(out.columns) == list(COLUMNS)
    assert out.index.tolist() == [7, 7, 1, 0]
    assert out["value"].tolist() == ["2024-03-05", "2024-03-05", None, "2024-03-05"]


def test_iso_text_never_reaches_dateutil_and_the_rest_once_per_distinct_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, object]] = []
    real = dates.normalize_timestamp
    monkeypatch.setattr(dates, "normalize_timestamp", lambda t, o=None: calls.append((t, o)) or real(t, o))
    values = pd.Series(["2024-03-05T10:00:00Z", "03/04/2021", "03/04/2021", "03/04/2021"] * 5000)
    countries = pd.Series(["US", "GB", "DE", "US"] * 5000)
    out = dates.normalize_timestamps(values, dayfirst_countries=countries)
    assert sorted(calls) == [("03/04/2021", "D"), ("03/04/2021", "M")]
    assert out["value"].head(4).tolist() == [
        "2024-03-05T10:00:00+00:00",
        "2021-04-03",
        "2021-04-03",
        "2021-03-04",
    ]


# --- properties ----------------------------------------------------------------------------------

_moments = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2100, 12, 30)).map(
    lambda d: d.replace(microsecond=0)
)


@settings(deadline=None, max_examples=200)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.text(max_size=30), st.sampled_from(["03/04/2021", "2024-03-05T10:00:00Z", "N/A"])),
            st.sampled_from(["US", "GB", "DE", "JP", None]),
        ),
        max_size=15,
    )
)
def test_never_raises_and_normalizing_again_changes_nothing(pairs: list[tuple[str, str | None]]) -> None:
    values = pd.Series([t for t, _ in pairs], dtype=object)
    countries = pd.Series([c for _, c in pairs], dtype=object)
    out = normalize_timestamps(values, dayfirst_countries=countries)
    assert list(out.columns) == list(COLUMNS)
    assert out["confidence"].between(0, 1).all()
    valid = (out["valid"] == True).to_numpy()  # noqa: E712
    again = normalize_timestamps(out["value"][valid], dayfirst_countries=countries[valid])
    assert again["value"].tolist() == out["value"][valid].tolist()
    assert again["rule"].isna().all()


@settings(deadline=None, max_examples=200)
@given(_moments, st.integers(min_value=-12 * 60, max_value=14 * 60))
def test_any_offset_lands_on_the_same_utc_instant(moment: datetime, minutes: int) -> None:
    zone = timezone(timedelta(minutes=minutes))
    local = moment.replace(tzinfo=UTC).astimezone(zone)
    row = one(local.isoformat())
    assert row["value"] == moment.replace(tzinfo=UTC).isoformat()


@settings(deadline=None, max_examples=100)
@given(_moments)
def test_national_writings_of_a_day_read_back_to_it(moment: datetime) -> None:
    day = moment.date().isoformat()
    writings = {
        ("GB", f"{moment:%d/%m/%Y}"),
        ("DE", f"{moment:%d.%m.%Y}"),
        ("US", f"{moment:%m/%d/%Y}"),
        ("JP", f"{moment:%Y/%m/%d}"),
        ("FR", f"{moment.day} {moment:%B %Y}"),
    }
    countries, texts = zip(*sorted(writings), strict=True)
    out = normalize_timestamps(pd.Series(texts), dayfirst_countries=pd.Series(countries))
    assert out["value"].tolist() == [day] * len(texts), texts


# --- the demo ------------------------------------------------------------------------------------


def test_demo_activity_dates() -> None:
    demo = generate_demo_crm(DemoConfig(contacts=3000, companies=600))
    contacts = demo.records[Entity.CONTACT]
    country = normalize_countries(contacts["country"])["value"]
    out = normalize_timestamps(contacts["last_activity_at"], dayfirst_countries=country)
    truth = demo.truth["field_truth"]
    truth = truth[truth["field"] == "last_activity_at"].set_index("record_id")
    kind = contacts["id"].map(truth["corruption"]).to_numpy(dtype=object)
    is_garbled = kind == "unparseable_date"
    assert is_garbled.any()
    assert (out["valid"][is_garbled] == False).all()  # noqa: E712 (hand-typed text no parser accepts)
    local = kind == "date_format"
    assert local.any()
    assert (out["valid"][local] == True).all()  # noqa: E712 ("08/05/2026", "5 Aug 2026")
    true_day = contacts["id"][local].map(truth["true_value"])
    # The day/month order comes from the stored country, which is itself sometimes wrong or missing.
    assert (out["value"][local] == true_day).mean() > 0.9
    clean = out[pd.isna(kind) & contacts["last_activity_at"].notna().to_numpy()]
    assert (clean["valid"] == True).all()  # noqa: E712
    assert clean["value"].str.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00").all()
