"""Regions (states, provinces, counties) in the form each country writes them.

`normalize_regions(values, country)` adds `subdivision_code` (ISO 3166-2, "US-CA") to the base
columns. `country` is the record's ISO alpha-2 code.

- US, Canada and Australia write regions as postal codes, so `value` is the code ("California",
  "Calif.", "ca" → "CA"; "Ontario" → "ON"; "New South Wales" → "NSW"), found among pycountry's
  codes and names and the variants in `data/regions_variants.csv` ignoring case, accents and dots.
  Text that is none of these is invalid.
- Elsewhere `value` is pycountry's name when the text is one ignoring case ("bayern" → "Bayern"),
  the code in capitals when the text is a subdivision code ("al" in Brazil → "AL"), and otherwise
  the text as typed: blanks collapsed, and the case fixed only if it was all capital or all lower
  ("EAST AYRSHIRE" → "East Ayrshire"). Accents are never added: "Tamil Nadu" stays as typed
  although ISO writes "Tamil Nādu".
- With no country, or text that is not an alpha-2 code, the region is kept as typed (cleaned).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import pycountry

from crm_hygiene.normalize.addresses import clean_text, looks_like_formula, single_case, smart_case
from crm_hygiene.normalize.base import BASE_COLUMNS, changed, invalid, per_distinct
from crm_hygiene.normalize.countries import fold

EXTRA_COLUMNS: tuple[str, ...] = ("subdivision_code",)
COLUMNS: tuple[str, ...] = (*BASE_COLUMNS, *EXTRA_COLUMNS)

VARIANTS_FILE = Path(__file__).parent / "data" / "regions_variants.csv"
POSTAL_COUNTRIES: frozenset[str] = frozenset({"US", "CA", "AU"})
_POSTAL_KINDS = {
    "US": "a US state or territory",
    "CA": "a Canadian province or territory",
    "AU": "an Australian state or territory",
}

EXACT_CONFIDENCE = 0.99
VARIANT_CONFIDENCE = 0.95
CLEANUP_CONFIDENCE = 0.99
CASE_CONFIDENCE = 0.8  # a name pycountry does not know, recased by rule
_MAX_CODE_CHARS = 3


def read_variants() -> list[tuple[str, str, str]]:
    """(country, variant, code) rows of the variants file; raises naming the file and row if one is wrong."""
    rows = []
    with VARIANTS_FILE.open(encoding="utf-8", newline="") as f:
        lines = [line for line in f if not line.startswith("#")]
    for number, row in enumerate(csv.DictReader(lines), start=2):
        country, variant, code = ((row.get(key) or "").strip() for key in ("country", "variant", "code"))
        if not variant or pycountry.subdivisions.get(code=f"{country}-{code}") is None:
            raise ValueError(
                f"{VARIANTS_FILE}: data row {number}: expected country,variant,code of a known "
                f"subdivision, got {row}"
            )
        rows.append((country, variant, code))
    return rows


@dataclass(frozen=True)
class _Postal:
    exact: dict[str, tuple[str, str]]  # casefolded code or name → (postal code, rule)
    folded: dict[str, str]  # folded code, name or variant → postal code


@lru_cache(maxsize=len(POSTAL_COUNTRIES))
def _postal(country: str) -> _Postal:
    exact: dict[str, tuple[str, str]] = {}
    folded: dict[str, str] = {}
    for country_code, variant, code in read_variants():
        if country_code == country:
            folded[fold(variant)] = code
    for sub in pycountry.subdivisions.get(country_code=country):
        code = sub.code.split("-", 1)[1]
        exact[code.casefold()] = (code, "region_code")
        exact.setdefault(" ".join(sub.name.casefold().split()), (code, "region_name"))
        folded[fold(code)] = code
        folded[fold(sub.name)] = code
    return _Postal(exact, folded)


@dataclass(frozen=True)
class _Named:
    names: dict[str, tuple[str, str]]  # casefolded name → (pycountry name, ISO 3166-2 code)
    codes: dict[str, str]  # casefolded code after the hyphen → ISO 3166-2 code


@lru_cache(maxsize=256)
def _named(country: str) -> _Named:
    names: dict[str, tuple[str, str]] = {}
    codes: dict[str, str] = {}
    # Top-level subdivisions first, so a name shared by a region and a department names the region.
    for sub in sorted(
        pycountry.subdivisions.get(country_code=country) or (), key=lambda s: s.parent_code is not None
    ):
        names.setdefault(" ".join(sub.name.casefold().split()), (sub.name, sub.code))
        codes[sub.code.split("-", 1)[1].casefold()] = sub.code
    return _Named(names, codes)


def _country_code(country: Any) -> str | None:
    if not isinstance(country, str):
        return None
    code = country.strip().upper()
    return code if pycountry.countries.get(alpha_2=code) is not None and len(code) == 2 else None


def _as_typed(text: str, cleaned: str) -> dict[str, Any]:
    if single_case(cleaned) and not (cleaned.isupper() and len(cleaned) <= _MAX_CODE_CHARS):
        return changed(text, smart_case(cleaned), "region_case", CASE_CONFIDENCE, subdivision_code=None)
    return changed(text, cleaned, "whitespace", CLEANUP_CONFIDENCE, subdivision_code=None)


def normalize_region(text: str, country: Any) -> dict[str, Any]:
    """One region in its country's form (see the module docstring)."""
    cleaned = clean_text(text)
    if looks_like_formula(cleaned):
        return invalid("looks like a spreadsheet formula", EXTRA_COLUMNS)
    if not any(ch.isalnum() for ch in cleaned):
        return invalid("no letters or digits: not a region", EXTRA_COLUMNS)
    code = _country_code(country)
    if code in POSTAL_COUNTRIES:
        index = _postal(code)
        hit = index.exact.get(cleaned.casefold())
        if hit is not None:
            return changed(text, hit[0], hit[1], EXACT_CONFIDENCE, subdivision_code=f"{code}-{hit[0]}")
        postal = index.folded.get(fold(cleaned))
        if postal is not None:
            return changed(
                text, postal, "region_variant", VARIANT_CONFIDENCE, subdivision_code=f"{code}-{postal}"
            )
        return invalid(f"unknown region: not {_POSTAL_KINDS[code]}", EXTRA_COLUMNS)
    if code is None:
        return changed(text, cleaned, "whitespace", CLEANUP_CONFIDENCE, subdivision_code=None)
    named = _named(code)
    key = " ".join(cleaned.casefold().split())
    if key in named.names:
        name, iso = named.names[key]
        return changed(text, name, "region_name", EXACT_CONFIDENCE, subdivision_code=iso)
    if len(cleaned) <= _MAX_CODE_CHARS and key in named.codes:
        return changed(
            text, cleaned.upper(), "region_code", EXACT_CONFIDENCE, subdivision_code=named.codes[key]
        )
    return _as_typed(text, cleaned)


def normalize_regions(values: pd.Series, country: pd.Series) -> pd.DataFrame:
    """Regions in the form of each record's country (ISO alpha-2), once per distinct pair."""
    return per_distinct(values, normalize_region, COLUMNS, context=country)
