"""Phone numbers to E.164, read with the record's country as the default region.

`normalize_phones(values, default_region)` returns the base columns (see `base.py`) plus:

- `e164`: the number in E.164 without its extension ("+14155550134");
- `extension`: the extension digits ("204"), None when there is none;
- `phone_type`: phonenumbers' number type in lower snake case (`mobile`, `fixed_line`,
  `fixed_line_or_mobile`, `toll_free`, `voip`, `premium_rate`, `shared_cost`,
  `personal_number`, `pager`, `uan`, `voicemail`, `unknown`);
- `region`: the ISO 3166-1 alpha-2 code of the country the number belongs to (None for
  non-geographic numbers such as +800).

The canonical `value` is the E.164 form, with an extension appended RFC 3966 style:
"+14155550134;ext=204". Numbers phonenumbers finds possible but not valid are invalid: a
CRM value that cannot be dialled is not worth standardizing. Every reformatting has the rule
`phone_e164`; its confidence says how the country was known: 0.99 written ("+44", or the
region's own international prefix), 0.97 another country's "00"/"011", 0.95 the record's
country, 0.90 a country code written without "+".

Each distinct (value, record's country) is read once. A value written plainly (digits with
blanks, dots, hyphens, parentheses and a leading "+") reads exactly as its digits do, so those
are read once per distinct (digits, country): "(415) 555-0134" and "415.555.0134" share one
parse (see `_plain_key`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import phonenumbers
from phonenumbers import (
    CountryCodeSource,
    NumberParseException,
    PhoneMetadata,
    PhoneNumber,
    PhoneNumberType,
    ValidationResult,
    national_significant_number,
)
from phonenumbers.phonenumberutil import _number_type_helper as _type_pass

from crm_hygiene.normalize.base import BASE_COLUMNS, Result, changed, invalid, per_distinct

EXTRA_COLUMNS: tuple[str, ...] = ("e164", "extension", "phone_type", "region")
COLUMNS: tuple[str, ...] = (*BASE_COLUMNS, *EXTRA_COLUMNS)

RULE = "phone_e164"
# Fewer digits than this is a note or a placeholder ("-", "?", "x1"), not a short number.
MIN_DIGITS = 3
# How sure a reformatting is, by where the country code came from.
CONFIDENCE_INTERNATIONAL = 0.99  # written with "+" or the region's international prefix
CONFIDENCE_FOREIGN_PREFIX = 0.97  # "00"/"011" that is not the record region's own prefix
CONFIDENCE_DEFAULT_REGION = 0.95  # a national number read in the record's country
CONFIDENCE_GUESSED_CODE = 0.90  # a country code written without "+" ("49 30 ...", "091 ...")

_PHONE_TYPES: dict[int, str] = {
    getattr(phonenumbers.PhoneNumberType, name): name.lower()
    for name in dir(phonenumbers.PhoneNumberType)
    if name.isupper()
}
# Common non-ISO spellings of a country a CRM stores in its country field.
_REGION_ALIASES: dict[str, str] = {"UK": "GB", "EL": "GR"}

# An extension at the end: "x204", "ext. 204", "Ext 204", "#204", "(ext. 204)", ";ext=204".
_EXTENSION = re.compile(
    r"\s*[,;]?\s*\(?\s*(?:ext(?:ension|n)?\s*[.:=]?|x\.?|#)\s*(\d{1,10})\s*\)?\s*$", re.IGNORECASE
)
# A label before the number: "Tel: ", "tel:", "Mobile: ", "M. ".
_LABEL = re.compile(
    r"^\s*(?:tel|telephone|phone|ph|mobile|mob|cell|fax|direct|office|work|home|t|m|p|f)\s*[.:]\s*",
    re.IGNORECASE,
)
# Brazil's "0xx11 ...": the "xx" stands for the long-distance carrier of the caller's choice.
_BRAZIL_CARRIER = re.compile(r"^\s*0\s*xx\s*(?=\d)", re.IGNORECASE)
# Excel tricks that keep a leading "+" or "0": a leading apostrophe, or a ="..." formula.
_SPREADSHEET_QUOTE = re.compile(r"""^\s*(?:'|="(.*)"\s*$)""", re.DOTALL)
_FLOAT_TAIL = re.compile(r"^(\+?\d{6,})\.0$")
# Separators between several numbers typed into one field.
_SEVERAL = re.compile(r"\s*(?:[/;,|&]|\s(?:or|and|oder|ou|o)\s)\s*", re.IGNORECASE)
# Punctuation people put between digits (ASCII and the full-width / typographic forms).
_NUMBER_PUNCTUATION = frozenset("+()-./[]~ \u00a0\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u3000")
_FULLWIDTH_PUNCTUATION = frozenset("\uff0b\uff08\uff09\uff0d\uff0e\uff0f")
# Plainly written numbers (see `_plain_key`): ASCII digits with blanks, dots, hyphens and
# parentheses, and a "+" before all of them; short, well under phonenumbers' 250 characters.
_PLAIN = re.compile(r" *\+?[0-9 ().\-]*")
_PLAIN_PUNCTUATION = str.maketrans("", "", " ().-")
_PLAIN_MAX_CHARS = 100
_UNKNOWN = PhoneNumberType.UNKNOWN


def normalize_phones(values: pd.Series, default_region: pd.Series | None = None) -> pd.DataFrame:
    """Canonical phone numbers (E.164, ";ext=" for extensions), aligned to `values`' index.

    `default_region` holds each record's country as ISO alpha-2; None, blank or unknown codes
    mean numbers without a country code (or an international prefix) cannot be read.
    """
    if default_region is not None and not default_region.index.equals(values.index):
        raise ValueError("normalize_phones: default_region must have the same index as values")
    text = values.astype(object).where(values.notna(), None).to_numpy(dtype=object)
    codes, uniques = pd.factorize(text)
    # The same number comes typed in several ways ("(415) 555-0123", "415.555.0123"): plain ones
    # are read once per distinct (digits, region) by `_read_plain` (see `_plain_key` for why that
    # is exact), skipping the clean-up steps that find nothing to do in them; the rest as typed.
    keys = np.asarray([_plain_key(v) if isinstance(v, str) else None for v in uniques] + [None], dtype=object)
    keys = keys[codes]  # code -1 (missing) takes the last slot
    plain = np.flatnonzero(pd.notna(keys))
    if len(plain) == 0:
        return _by_text(values, default_region, normalize_phone)
    regions = None if default_region is None else default_region.iloc[plain].reset_index(drop=True)
    read = _by_text(pd.Series(keys[plain], dtype=object), regions, _read_plain)
    # What `changed` does per value: a value typed exactly in its canonical form has no rule.
    as_typed = (read["valid"] == True).to_numpy() & (read["value"].to_numpy() == text[plain])  # noqa: E712
    columns = {column: read[column].to_numpy(copy=True) for column in COLUMNS}
    columns["rule"][as_typed] = None
    columns["confidence"][as_typed] = 1.0

    out = {column: np.full(len(text), None, dtype=object) for column in COLUMNS}
    out["confidence"] = np.full(len(text), np.nan)
    for column in COLUMNS:
        out[column][plain] = columns[column]
    others = np.flatnonzero(pd.isna(keys))
    if len(others):
        rest = values.iloc[others].reset_index(drop=True)
        hints = None if default_region is None else default_region.iloc[others].reset_index(drop=True)
        for column, array in _by_text(rest, hints, normalize_phone).items():
            out[column][others] = array.to_numpy()
    return pd.DataFrame(out, index=values.index, columns=list(COLUMNS))


def _by_text(
    values: pd.Series, default_region: pd.Series | None, normalize_one: Callable[..., Result]
) -> pd.DataFrame:
    """`normalize_one` once per distinct (value, region)."""
    if default_region is None:
        return per_distinct(values, normalize_one, COLUMNS)
    return per_distinct(values, normalize_one, COLUMNS, context=default_region)


def normalize_phone(text: str, default_region: Any = None) -> Result:
    """One phone number, read in `default_region` when it has no country code."""
    region = _region(default_region)
    core, extension = _split_extension(_strip_decoration(text))
    if _looks_like_several(core):
        return invalid("several numbers in one field", EXTRA_COLUMNS)
    problem = _character_problem(core)
    if problem:
        return invalid(problem, EXTRA_COLUMNS)
    reading = _read(core, extension, region)
    if reading["valid"] is not True:
        return reading
    extra = {column: reading[column] for column in EXTRA_COLUMNS}
    return changed(text, reading["value"], reading["rule"], reading["confidence"], **extra)


def _plain_key(text: str) -> str | None:
    """The digits of a plainly written number, with its leading "+"; None for any other text.

    Plain is digits, blanks, dots, hyphens and parentheses, an optional "+" before all of them,
    at least MIN_DIGITS ASCII digits, and short. Such a value reads exactly as its key does, so
    "(415) 555-0123" and "415.555.0123" in one region share one parse:

    - our own steps find nothing to do: no spreadsheet quote, label, carrier "xx", float tail
      (excluded here), extension marker, separator of several numbers or stray character; the
      reading then uses the text only for its digits and whether it starts with "+";
    - phonenumbers.parse keeps the text only as raw_input, which nothing here reads: it finds
      no RFC 3966 parts, no extension (each of its patterns needs a letter, "#", "~", "," or
      ";"), no letters to map, finds both viable (digits and punctuation it allows), and from
      there works on the digits alone: "+" or not, international prefix, country code (and
      country_code_source), national prefix and lengths.

    Whether the value was typed in its canonical form still depends on the text: the caller
    compares the two, as `changed` does.
    """
    if len(text) > _PLAIN_MAX_CHARS or not _PLAIN.fullmatch(text) or _FLOAT_TAIL.match(text.strip()):
        return None
    key = text.translate(_PLAIN_PUNCTUATION)
    return key if len(key.lstrip("+")) >= MIN_DIGITS else None


def _read_plain(key: str, default_region: Any = None) -> Result:
    """`_read` for the key of a plainly written number (see `_plain_key`)."""
    return _read(key, None, _region(default_region))


def _read(core: str, extension: str | None, region: str | None) -> Result:
    """The number in `core`; when valid, with `rule` and `confidence` as if it had changed."""
    number, number_region, phone_type, reason = None, None, None, None
    try:
        number = phonenumbers.parse(core, region, keep_raw_input=True)
    except NumberParseException as error:
        reason = _parse_error_reason(error, core, region)
    else:
        number_region, phone_type = _valid_region_and_type(number, region)
        if number_region is None:
            reason = _invalid_reason(number, region)
    if number is not None and number_region is not None:
        return _valid(number, number_region, phone_type, extension, _confidence(number))

    # National parsing failed: an international prefix of another country, or a country code
    # written after the trunk "0", still names the number unambiguously enough.
    for candidate, confidence in _international_readings(core, region):
        try:
            number = phonenumbers.parse(candidate, None)
        except NumberParseException:
            continue
        number_region, phone_type = _valid_region_and_type(number, None)
        if number_region:
            return _valid(number, number_region, phone_type, extension, confidence)
    return invalid(reason or "not a phone number", EXTRA_COLUMNS)


def _region(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    code = _REGION_ALIASES.get(code, code)
    return code if code in phonenumbers.SUPPORTED_REGIONS else None


def _strip_decoration(text: str) -> str:
    quoted = _SPREADSHEET_QUOTE.match(text)
    if quoted:
        text = quoted.group(1) if quoted.group(1) is not None else text[quoted.end() :]
    text = _LABEL.sub("", text.strip(), count=1)
    text = _BRAZIL_CARRIER.sub("0", text, count=1)
    floated = _FLOAT_TAIL.match(text)
    return floated.group(1) if floated else text


def _split_extension(text: str) -> tuple[str, str | None]:
    found = _EXTENSION.search(text)
    if found is None or not any(ch.isdecimal() for ch in text[: found.start()]):
        return text, None
    return text[: found.start()], found.group(1).lstrip("0") or "0"


def _character_problem(core: str) -> str | None:
    if sum(ch.isdecimal() for ch in core) < MIN_DIGITS:
        return "not a phone number"
    if any(ch.isalpha() for ch in core):
        # Keypad letters ("1-800-FLOWERS") are not read as digits: next to a number a word is
        # far more often a note ("call after 5", "reception") than a vanity number.
        return "contains letters"
    if any(
        not (ch.isdecimal() or ch in _NUMBER_PUNCTUATION or ch in _FULLWIDTH_PUNCTUATION or ch.isspace())
        for ch in core
    ):
        return "not a phone number"
    return None


def _looks_like_several(core: str) -> bool:
    parts = _SEVERAL.split(core)
    return sum(1 for part in parts if sum(ch.isdecimal() for ch in part) >= 6) >= 2


def _digits(core: str) -> str:
    return "".join(ch for ch in core if ch.isdecimal())


def _international_readings(core: str, region: str | None) -> list[tuple[str, float]]:
    if core.lstrip().startswith("+"):
        return []
    digits = _digits(core)
    # Australia's "0011" first: read as "00" it would leave a stray "11" in front.
    readings = [
        (f"+{digits[len(prefix) :]}", CONFIDENCE_FOREIGN_PREFIX)
        for prefix in ("0011", "011", "00")
        if digits.startswith(prefix)
    ]
    if region is not None:
        trunk_and_code = f"0{phonenumbers.country_code_for_region(region)}"
        if digits.startswith(trunk_and_code):
            readings.append((f"+{digits[1:]}", CONFIDENCE_GUESSED_CODE))
    return readings


def _confidence(number: PhoneNumber) -> float:
    source = number.country_code_source
    if source in (CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN, CountryCodeSource.FROM_NUMBER_WITH_IDD):
        return CONFIDENCE_INTERNATIONAL
    if source == CountryCodeSource.FROM_NUMBER_WITHOUT_PLUS_SIGN:
        return CONFIDENCE_GUESSED_CODE
    return CONFIDENCE_DEFAULT_REGION


def _valid_region_and_type(number: PhoneNumber, record_region: str | None) -> tuple[str | None, int]:
    """The region a valid number belongs to (None when it is not valid), and its number type.

    The record's own region is tried first: for a shared calling code (+1 has 25 regions)
    phonenumbers otherwise tests every region that uses it.
    """
    # This was is_valid_number_for_region(number, record region), then region_code_for_number and
    # is_valid_number_for_region on its answer, then number_type (region_code_for_number again).
    # All of them run the same type pass (phonenumbers' _number_type_helper, up to a dozen pattern
    # tests) on the national number against one region's metadata, so a number ran it up to five
    # times, mostly for the same region. The three functions are spelled out below as
    # phonenumbers defines them, with the pass run once per region (`passes`).
    national = national_significant_number(number)
    passes: dict[str | None, int] = {}
    region = _own_region(number.country_code, national, passes)
    kind = _type_in(number.country_code, region, national, passes)  # number_type
    if (
        record_region is not None
        and phonenumbers.country_code_for_region(record_region) == number.country_code
        and _valid_in(number.country_code, record_region, national, passes)
    ):
        return record_region, kind
    if region is None or not _valid_in(number.country_code, region, national, passes):
        return None, kind
    return region, kind


def _type_in(code: int, region: str | None, national: str, passes: dict[str | None, int]) -> int:
    """The type pass for the number against the region's metadata, once per region."""
    if region not in passes:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        passes[region] = _UNKNOWN if metadata is None else _type_pass(national, metadata)
    return passes[region]


def _valid_in(code: int, region: str, national: str, passes: dict[str | None, int]) -> bool:
    """phonenumbers.is_valid_number_for_region, its type pass shared through `passes`."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region.upper())
    if metadata is None or (
        region != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
        and code != phonenumbers.country_code_for_valid_region(region)
    ):
        return False
    return _type_in(code, region.upper(), national, passes) != _UNKNOWN


def _own_region(code: int, national: str, passes: dict[str | None, int]) -> str | None:
    """phonenumbers.region_code_for_number, its type passes shared through `passes`."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code)
    if regions is None:
        return None
    if len(regions) == 1:
        return regions[0]
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            if re.compile(metadata.leading_digits).match(national):
                return region
        elif _type_in(code, region, national, passes) != _UNKNOWN:
            return region
    return None


def _valid(
    number: PhoneNumber, region: str, phone_type: int, extension: str | None, confidence: float
) -> Result:
    # An extension phonenumbers finds in what the pattern above left is kept as well.
    extension = extension or number.extension or None
    number.extension = None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return {
        "value": e164 if extension is None else f"{e164};ext={extension}",
        "valid": True,
        "reason": None,
        "rule": RULE,
        "confidence": confidence,
        "e164": e164,
        "extension": extension,
        "phone_type": _PHONE_TYPES.get(phone_type, "unknown"),
        "region": region if region.isalpha() and region != phonenumbers.UNKNOWN_REGION else None,
    }


def _number_region(number: PhoneNumber, record_region: str | None) -> str:
    if record_region and phonenumbers.country_code_for_region(record_region) == number.country_code:
        return record_region
    return phonenumbers.region_code_for_country_code(number.country_code)


def _invalid_reason(number: PhoneNumber, record_region: str | None) -> str:
    region = _number_region(number, record_region)
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible == ValidationResult.TOO_SHORT:
        return "too short"
    if possible == ValidationResult.TOO_LONG:
        return "too long"
    if possible == ValidationResult.INVALID_COUNTRY_CODE:
        return f"unknown country code +{number.country_code}"
    if possible == ValidationResult.INVALID_LENGTH:
        return f"wrong length for region {region}"
    return f"invalid for region {region}"


def _parse_error_reason(error: NumberParseException, core: str, region: str | None) -> str:
    kind = error.error_type
    if kind == NumberParseException.INVALID_COUNTRY_CODE:
        if core.lstrip().startswith("+") or region is not None:
            return "unknown country code"
        return "no country code and no known region"
    if kind in (NumberParseException.TOO_SHORT_NSN, NumberParseException.TOO_SHORT_AFTER_IDD):
        return "too short"
    if kind == NumberParseException.TOO_LONG:
        return "too long"
    return "not a phone number"
