"""Dates and timestamps as ISO 8601 text: "2024-03-05T10:00:00+00:00" in UTC, or "2024-03-05" for a date.

`normalize_timestamps(values, dayfirst_countries=...)` returns the base columns only.

- ISO 8601 text is parsed vectorized by pandas; a time without an offset is taken as UTC.
- Any other text is parsed once per distinct value with dateutil. Numeric dates whose day and
  month could be either way round ("03/04/2021") are read day first when the record's country
  writes dates that way and month first otherwise, with confidence 0.6 and the rule
  "date_ambiguous_order". A leading four-digit year is always year-month-day.
- Text that is not a whole calendar date ("N/A", "last week", "31/02/2021", "0000-00-00",
  "March 2021") or whose year is outside YEARS is invalid with the reason.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pycountry
from dateutil import parser as date_parser
from dateutil import tz

from crm_hygiene.normalize.addresses import clean_text
from crm_hygiene.normalize.base import BASE_COLUMNS, changed, invalid, per_distinct

COLUMNS: tuple[str, ...] = BASE_COLUMNS
YEARS = range(1900, 2101)  # a CRM holds no activity, birthday or contract date outside these
NOT_A_DATE = "not a calendar date"
OUT_OF_RANGE = f"year outside {YEARS.start}–{YEARS.stop - 1}"

ISO_CONFIDENCE = 1.0  # the same instant or day, only written the canonical way
ASSUMED_UTC_CONFIDENCE = 0.9  # a time of day without an offset or with an unknown zone name
FORMAT_CONFIDENCE = 0.95
AMBIGUOUS_CONFIDENCE = 0.6

# Where numeric dates are written month first (the US and places using its conventions) or year
# first (so month before day there too); every other country writes the day first.
MONTH_FIRST: frozenset[str] = frozenset(
    {"US", "AS", "GU", "MP", "PR", "UM", "VI", "CA", "PH", "FM", "MH", "PW", "BZ"}
)
YEAR_FIRST: frozenset[str] = frozenset({"CN", "JP", "KR", "KP", "TW", "HU", "LT", "MN", "IR", "BT"})

# ISO 8601 as pandas parses it (RE2 syntax, for Arrow's kernels); an offset only after a time.
_ISO_RE2 = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$"
_OFFSET_RE2 = r"[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$"
_YEAR_FIRST_TEXT = re.compile(r"\s*\d{4}(?:[-/.]\d{1,2}[-/.]\d{1,2}|\d{4})\b")
# Zone names dateutil does not know by itself that CRM exports use; others are taken as UTC.
_ZONES = {
    "UTC": tz.UTC, "GMT": tz.UTC, "Z": tz.UTC,
    "EST": tz.tzoffset("EST", -5 * 3600), "EDT": tz.tzoffset("EDT", -4 * 3600),
    "CST": tz.tzoffset("CST", -6 * 3600), "CDT": tz.tzoffset("CDT", -5 * 3600),
    "MST": tz.tzoffset("MST", -7 * 3600), "MDT": tz.tzoffset("MDT", -6 * 3600),
    "PST": tz.tzoffset("PST", -8 * 3600), "PDT": tz.tzoffset("PDT", -7 * 3600),
    "CET": tz.tzoffset("CET", 3600), "CEST": tz.tzoffset("CEST", 2 * 3600),
}  # fmt: skip
# Two fill-ins that differ in every field: what dateutil took from them was not in the text.
_DEFAULTS = (datetime(2000, 1, 1, 0, 0, 0), datetime(2004, 2, 2, 23, 0, 0))


@lru_cache(maxsize=1)
def _day_first() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries) - MONTH_FIRST - YEAR_FIRST


def _order(countries: pd.Series) -> pd.Series:
    """Per record: "D" (day first) or "M" (month first), from a country code or a bool."""
    if pd.api.types.is_bool_dtype(countries):
        return countries.map({True: "D", False: "M"})
    codes = countries.astype(object).where(countries.notna(), None)
    codes = codes.map(lambda c: c.strip().upper() if isinstance(c, str) else None)
    return pd.Series(np.where(codes.isin(_day_first()), "D", "M"), index=countries.index, dtype=object)


def _write(moment: datetime, with_time: bool) -> str:
    if not with_time:
        return moment.date().isoformat()
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return utc.isoformat(timespec="microseconds" if utc.microsecond else "seconds")


def _parse(text: str, dayfirst: bool) -> tuple[datetime, bool, bool] | None:
    """(moment, whether a time of day was given, whether its zone was known) or None."""
    parsed = []
    for default in _DEFAULTS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                moment = date_parser.parse(text, dayfirst=dayfirst, default=default, tzinfos=_ZONES)
            except (ValueError, OverflowError, TypeError):
                return None
        parsed.append((moment, not caught))
    (first, known_zone), (second, _) = parsed
    if first.date() != second.date():
        return None  # the year, month or day came from the fill-in
    with_time = first.hour == second.hour
    if with_time and first.tzinfo is None:
        known_zone = False
    return first, with_time, known_zone


_CJK_DATE_MARKS = str.maketrans({"年": "-", "月": "-", "日": " ", "년": "-", "월": "-", "일": " "})


def _plain(text: str) -> str:
    """Text dateutil can read: ASCII digits, no control characters, CJK "2024年3月5日" as 2024-3-5."""
    text = unicodedata.normalize("NFKC", clean_text(text)).translate(_CJK_DATE_MARKS)
    digits = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)
    return re.sub(r"-\s+", "-", digits).strip(" -")


def normalize_timestamp(text: str, order: Any = None) -> dict[str, Any]:
    """One date or timestamp not in ISO form; `order` is "D" when the record writes day first."""
    stripped = _plain(text)
    year_first = bool(_YEAR_FIRST_TEXT.match(stripped))
    readings = {flag: _parse(stripped, flag) for flag in ((False,) if year_first else (True, False))}
    found = {flag: reading for flag, reading in readings.items() if reading is not None}
    if not found:
        return invalid(NOT_A_DATE)
    ambiguous = len(found) == 2 and found[True][0] != found[False][0]
    moment, with_time, known_zone = found[order == "D"] if ambiguous else next(iter(found.values()))
    if moment.year not in YEARS:
        return invalid(OUT_OF_RANGE)
    value = _write(moment, with_time)
    if ambiguous:
        return changed(text, value, "date_ambiguous_order", AMBIGUOUS_CONFIDENCE)
    if with_time and not known_zone:
        return changed(text, value, "timestamp_assumed_utc", ASSUMED_UTC_CONFIDENCE)
    return changed(text, value, "date_format", FORMAT_CONFIDENCE)


def normalize_timestamps(values: pd.Series, *, dayfirst_countries: pd.Series | None = None) -> pd.DataFrame:
    """ISO 8601 UTC text for a column of dates and timestamps.

    `dayfirst_countries` is each record's country (ISO alpha-2; or a bool, True for day first),
    aligned with `values`; without it, ambiguous numeric dates are read month first.
    """
    n = len(values)
    text = _arrow_text(values)
    stripped = pc.utf8_trim_whitespace(text)
    iso = pc.fill_null(pc.match_substring_regex(stripped, _ISO_RE2), False).to_numpy(zero_copy_only=False)
    out = {column: np.full(n, None, dtype=object) for column in COLUMNS}
    out["confidence"] = np.ones(n)
    if iso.any():
        mask = pa.array(iso)
        _fill_iso(out, iso, pc.filter(text, mask), pc.filter(stripped, mask))
    rest = ~iso
    if rest.any():
        order = _order(dayfirst_countries[rest]) if dayfirst_countries is not None else None
        parsed = per_distinct(values[rest], normalize_timestamp, COLUMNS, context=order)
        for column in COLUMNS:
            out[column][rest] = parsed[column].to_numpy(dtype=float if column == "confidence" else object)
    return pd.DataFrame(out, index=values.index, columns=list(COLUMNS))


def _arrow_text(values: pd.Series) -> pa.Array:
    """The column as Arrow strings, missing values as null (other objects by their str())."""
    items = values.to_numpy(dtype=object)
    try:
        return pa.array(items, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        texts = [None if pd.isna(v) else v if isinstance(v, str) else str(v) for v in items]
        return pa.array(texts, type=pa.string())


def _iso_moments(stripped: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """UTC instants (as naive datetime64[ns]) of ISO text, NaT where not a real one.

    Text with and without an offset is parsed apart: in one call pandas 2.3 reads a time
    without an offset in the offset of the aware text before it.
    """
    moments = np.full(len(stripped), np.datetime64("NaT"), dtype="datetime64[ns]")
    if offset.any():
        aware = pd.to_datetime(pd.Series(stripped[offset]), format="ISO8601", utc=True, errors="coerce")
        moments[offset] = aware.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    if (~offset).any():
        naive = pd.to_datetime(pd.Series(stripped[~offset]), format="ISO8601", errors="coerce")
        moments[~offset] = naive.to_numpy(dtype="datetime64[ns]")
    return moments


def _written(moments: np.ndarray, date_only: np.ndarray) -> np.ndarray:
    """Dates as "YYYY-MM-DD", timestamps as "YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00", by Arrow casts."""
    whole = (moments.view(np.int64) % 1_000_000_000 == 0) | date_only
    stamps = pa.array(moments.astype("datetime64[us]"))
    text = np.empty(len(moments), dtype=object)
    for rows, unit in ((date_only, None), (whole & ~date_only, "s"), (~whole, "us")):
        if not rows.any():
            continue
        picked = pc.filter(stamps, pa.array(rows))
        if unit is None:
            written = pc.cast(pc.cast(picked, pa.date32()), pa.string())
        else:  # Arrow writes "2024-03-05 10:00:00[.ffffff]" at the unit's precision
            plain = pc.cast(pc.cast(picked, pa.timestamp(unit), safe=False), pa.string())
            written = pc.binary_join_element_wise(
                pc.replace_substring(plain, " ", "T", max_replacements=1), "+00:00", ""
            )
        text[rows] = written.to_numpy(zero_copy_only=False)
    return text


def _fill_iso(out: dict[str, np.ndarray], rows: np.ndarray, text: pa.Array, stripped: pa.Array) -> None:
    offset = pc.match_substring_regex(stripped, _OFFSET_RE2).to_numpy(zero_copy_only=False)
    date_only = pc.equal(pc.utf8_length(stripped), len("2024-03-05")).to_numpy(zero_copy_only=False)
    moments = _iso_moments(stripped.to_numpy(zero_copy_only=False), offset)
    parsed = ~np.isnat(moments)
    years = moments.astype("datetime64[Y]").astype(np.int64) + 1970
    ok = parsed & (years >= YEARS.start) & (years < YEARS.stop)
    value = np.full(len(text), None, dtype=object)
    if ok.any():
        value[ok] = _written(moments[ok], date_only[ok])
    same = value == text.to_numpy(zero_copy_only=False)
    rule = np.where(same, None, np.where(date_only | offset, "timestamp_iso", "timestamp_assumed_utc"))
    confidence = np.where(same | date_only | offset, ISO_CONFIDENCE, ASSUMED_UTC_CONFIDENCE)
    reason = np.where(parsed, OUT_OF_RANGE, NOT_A_DATE)
    out["value"][rows] = value
    out["valid"][rows] = ok.astype(object)
    out["reason"][rows] = np.where(ok, None, reason)
    out["rule"][rows] = np.where(ok, rule, None)
    out["confidence"][rows] = np.where(ok, confidence, 0.0)
