"""Countries as ISO 3166-1 alpha-2 codes, however a CRM user typed them.

`normalize_countries` adds two columns to the base ones: `alpha3` and `country_name` (pycountry's
common name where it has one, "South Korea", else its short name, "Germany").

A value is looked up in three steps, the first hit wins:

1. an ISO code (alpha-2 or alpha-3) or one of pycountry's English names, ignoring case and
   surrounding blanks ("us", "DEU", "germany"): confidence 0.99;
2. the text folded (case, accents, dots, hyphens and a leading "The" ignored) against those
   codes and names, the variants in `data/countries_variants.csv` (informal names such as
   "Holland", non-ISO codes such as "UK" and "GER", endonyms such as "Österreich" or "日本")
   and pycountry's translations of the ISO names into TRANSLATION_LANGUAGES ("Allemagne",
   "Estados Unidos"), or a flag emoji: confidence 0.95;
3. a typo of an English name or a variant ("Untied States", "Germnay"), accepted only when it
   is at most FUZZY_MAX_EDITS keystrokes away, keeps the first letter and no other country is
   about as close: confidence 0.70 to 0.85.

Anything else is invalid with the reason "unknown country".
"""

from __future__ import annotations

import csv
import gettext
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import pycountry
from rapidfuzz import process
from rapidfuzz.distance import OSA

from crm_hygiene.normalize.base import BASE_COLUMNS, changed, invalid, per_distinct

EXTRA_COLUMNS: tuple[str, ...] = ("alpha3", "country_name")
COLUMNS: tuple[str, ...] = (*BASE_COLUMNS, *EXTRA_COLUMNS)

VARIANTS_FILE = Path(__file__).parent / "data" / "countries_variants.csv"
# Languages whose names for every country are accepted; endonyms of other languages are in the
# variants file. More languages would mean more names that collide across countries.
TRANSLATION_LANGUAGES: tuple[str, ...] = (
    "de", "fr", "es", "it", "pt", "nl", "sv", "da", "nb_NO", "pl", "tr", "ja", "zh_CN", "ko", "ru",
)  # fmt: skip

EXACT_CONFIDENCE = 0.99
VARIANT_CONFIDENCE = 0.95
FUZZY_MIN_SIMILARITY = 0.8  # 1 - edits / length: one slip in a five-letter name is the floor
FUZZY_MAX_EDITS = 2  # a swapped pair counts as one edit
FUZZY_MIN_CHARS = 4  # shorter text is too close to too many names to guess from
FUZZY_MARGIN = 0.05  # a runner-up for another country this close makes the guess ambiguous
FUZZY_CONFIDENCE = (0.70, 0.85)  # at FUZZY_MIN_SIMILARITY and at similarity 1

UNKNOWN = "unknown country"
# Parts of the world typed where a country belongs. They never resolve to a country, and a typo
# close to one ("South Amerika") is not taken for the country it also resembles ("South Africa").
WORLD_REGIONS: tuple[str, ...] = (
    "Africa", "North Africa", "West Africa", "East Africa", "Sub-Saharan Africa", "Americas",
    "North America", "South America", "Latin America", "Central America", "Caribbean", "Europe",
    "Western Europe", "Eastern Europe", "Northern Europe", "Southern Europe", "European Union",
    "Scandinavia", "Nordics", "Benelux", "DACH", "Balkans", "Baltics", "Asia", "East Asia",
    "South Asia", "Southeast Asia", "Central Asia", "Asia Pacific", "Middle East", "Oceania",
    "Antarctica", "EMEA", "APAC", "APJ", "LATAM", "NORAM", "Worldwide", "Global", "International",
)  # fmt: skip

_DROPPED = re.compile(r"[.'’`´]")


def fold(text: str) -> str:
    """Text reduced to what tells names apart: no case, accents, dots, hyphens or a leading "the"."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))
    kept = _DROPPED.sub("", bare.casefold().replace("&", " and "))
    # Punctuation, symbols and blanks separate words; control and format characters (NUL,
    # zero-width spaces) are noise; letters and marks of every script are kept.
    words = "".join(
        " " if ch.isspace() or unicodedata.category(ch)[0] in "PSZ" else ch
        for ch in kept
        if ch.isspace() or unicodedata.category(ch)[0] != "C"
    ).split()
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return " ".join(words)


@dataclass(frozen=True)
class _Index:
    exact: dict[str, tuple[str, str]]  # casefolded text → (alpha-2, rule)
    folded: dict[str, str]  # folded text → alpha-2
    fuzzy_keys: list[str]
    fuzzy_codes: list[str]  # "" for a world region


def _english_names(country: Any) -> list[str]:
    return [
        name for attr in ("name", "official_name", "common_name") if (name := getattr(country, attr, None))
    ]


def read_variants() -> list[tuple[str, str]]:
    """(variant, alpha-2) rows of the variants file; raises naming the file and row if one is wrong."""
    rows = []
    with VARIANTS_FILE.open(encoding="utf-8", newline="") as f:
        lines = [line for line in f if not line.startswith("#")]
    for number, row in enumerate(csv.DictReader(lines), start=2):
        code = (row.get("alpha2") or "").strip()
        variant = (row.get("variant") or "").strip()
        if not variant or pycountry.countries.get(alpha_2=code) is None:
            raise ValueError(f"{VARIANTS_FILE}: data row {number}: expected variant,alpha2, got {row}")
        rows.append((variant, code))
    return rows


def _translations() -> dict[str, str]:
    """Folded translated names that name one country only."""
    found: dict[str, set[str]] = {}
    for language in TRANSLATION_LANGUAGES:
        catalog = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True)
        for country in pycountry.countries:
            for name in _english_names(country):
                found.setdefault(fold(catalog.gettext(name)), set()).add(country.alpha_2)
    return {key: codes.pop() for key, codes in found.items() if len(codes) == 1 and key}


@lru_cache(maxsize=1)
def _index() -> _Index:
    exact: dict[str, tuple[str, str]] = {}
    iso: dict[str, str] = {}
    fuzzy: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        for key in (country.alpha_2, country.alpha_3):
            exact[key.casefold()] = (code, "country_code")
            iso[fold(key)] = code
        for name in _english_names(country):
            exact.setdefault(" ".join(name.casefold().split()), (code, "country_name"))
            iso[fold(name)] = code
            fuzzy[fold(name)] = code
    variants = {fold(variant): code for variant, code in read_variants()}
    fuzzy.update({key: code for key, code in variants.items() if len(key) >= FUZZY_MIN_CHARS})
    fuzzy.update({fold(region): "" for region in WORLD_REGIONS})
    # Later sources win: ISO names over the variants file over translations.
    folded = {**_translations(), **variants, **iso}
    return _Index(exact, folded, list(fuzzy), list(fuzzy.values()))


@lru_cache(maxsize=1)
def _flags() -> dict[str, str]:
    return {
        country.flag: country.alpha_2 for country in pycountry.countries if getattr(country, "flag", None)
    }


def _found(text: str, code: str, rule: str, confidence: float) -> dict[str, Any]:
    country = pycountry.countries.get(alpha_2=code)
    name = getattr(country, "common_name", None) or country.name
    return changed(text, code, rule, confidence, alpha3=country.alpha_3, country_name=name)


def _typo(folded: str, index: _Index) -> tuple[str, float] | None:
    """The one country the text is a near miss of, with its similarity, or None."""
    if len(folded) < FUZZY_MIN_CHARS:
        return None
    candidates = [
        (index.fuzzy_codes[i], score)
        for key, score, i in process.extract(
            folded,
            index.fuzzy_keys,
            scorer=OSA.normalized_similarity,
            # rapidfuzz compares the cutoff in floating point: 1 - 1/5 must still pass 0.8.
            score_cutoff=FUZZY_MIN_SIMILARITY - 1e-6,
            limit=10,
        )
        if key[0] == folded[0] and OSA.distance(folded, key) <= FUZZY_MAX_EDITS
    ]
    if not candidates:
        return None
    code, best = max(candidates, key=lambda c: c[1])
    if not code or any(other != code and score >= best - FUZZY_MARGIN for other, score in candidates):
        return None
    return code, best


def normalize_country(text: str) -> dict[str, Any]:
    """One country text to its ISO alpha-2 code (see the module docstring for the steps)."""
    index = _index()
    stripped = " ".join(text.split())
    hit = index.exact.get(stripped.casefold())
    if hit is not None:
        return _found(text, hit[0], hit[1], EXACT_CONFIDENCE)
    if stripped in _flags():
        return _found(text, _flags()[stripped], "country_variant", VARIANT_CONFIDENCE)
    folded = fold(stripped)
    if not folded:
        return invalid(UNKNOWN, EXTRA_COLUMNS)
    if folded in index.folded:
        return _found(text, index.folded[folded], "country_variant", VARIANT_CONFIDENCE)
    typo = _typo(folded, index)
    if typo is None:
        return invalid(UNKNOWN, EXTRA_COLUMNS)
    code, similarity = typo
    low, high = FUZZY_CONFIDENCE
    share = max(0.0, (similarity - FUZZY_MIN_SIMILARITY) / (1 - FUZZY_MIN_SIMILARITY))
    return _found(text, code, "country_typo", round(low + (high - low) * share, 3))


def normalize_countries(values: pd.Series) -> pd.DataFrame:
    """ISO alpha-2 codes for a column of country text, one lookup per distinct value."""
    return per_distinct(values, normalize_country, COLUMNS)
