"""Addresses and countries, written every way people write them."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_hygiene.demo.mess import RecordBatch, Shares
from crm_hygiene.demo.pools import COUNTRIES, AddressPools
from crm_hygiene.demo.regions import REGION_NAMES, US_STATES_AP
from crm_hygiene.demo.vectors import (
    Strings,
    digits,
    nones,
    str_method,
    strings,
    typos,
    weighted_choice,
    whitespace,
)

# How CRM users type each country, with rough weights; the ISO code itself is the true value.
COUNTRY_SPELLINGS: dict[str, tuple[tuple[str, float], ...]] = {
    "US": (
        ("United States", 30),
        ("USA", 18),
        ("US", 10),
        ("U.S.", 5),
        ("U.S.A.", 4),
        ("us", 3),
        ("United States of America", 8),
        ("America", 2),
        ("united states", 4),
        ("UNITED STATES", 2),
        ("Estados Unidos", 1),
    ),
    "GB": (
        ("United Kingdom", 30),
        ("UK", 20),
        ("GB", 5),
        ("U.K.", 4),
        ("Great Britain", 8),
        ("England", 10),
        ("Britain", 2),
        ("united kingdom", 3),
        ("Scotland", 2),
        ("Großbritannien", 1),
    ),
    "DE": (
        ("Germany", 35),
        ("Deutschland", 20),
        ("DE", 10),
        ("GER", 3),
        ("germany", 4),
        ("Federal Republic of Germany", 2),
        ("Allemagne", 1),
        ("GERMANY", 2),
    ),
    "FR": (
        ("France", 55),
        ("FR", 10),
        ("france", 5),
        ("FRA", 3),
        ("Frankreich", 2),
        ("République française", 1),
    ),
    "IN": (("India", 55), ("IN", 8), ("IND", 4), ("india", 5), ("Bharat", 2), ("Republic of India", 2)),
    "BR": (
        ("Brazil", 40),
        ("Brasil", 25),
        ("BR", 8),
        ("BRA", 3),
        ("brazil", 3),
        ("Federative Republic of Brazil", 1),
    ),
    "JP": (("Japan", 55), ("JP", 8), ("JPN", 4), ("japan", 4), ("Nippon", 2), ("日本", 5)),
    "AU": (("Australia", 55), ("AU", 8), ("AUS", 6), ("australia", 4), ("Commonwealth of Australia", 1)),
    "CA": (("Canada", 60), ("CA", 8), ("CAN", 4), ("canada", 4), ("Kanada", 1)),
    "NL": (
        ("Netherlands", 30),
        ("The Netherlands", 15),
        ("Holland", 10),
        ("NL", 8),
        ("Nederland", 10),
        ("the netherlands", 3),
        ("Niederlande", 1),
        ("NLD", 2),
    ),
}
COUNTRY_TYPOS: dict[str, tuple[str, ...]] = {
    "US": ("Untied States", "Unites States", "United Sates", "Unted States", "USA."),
    "GB": ("Untied Kingdom", "United Kingdon", "Unitd Kingdom"),
    "DE": ("Germnay", "Gemany", "Deutchland"),
    "FR": ("Frnace", "Farnce"),
    "IN": ("Inida", "Indai"),
    "BR": ("Brazl", "Brasill"),
    "JP": ("Japna", "Jpan"),
    "AU": ("Austrailia", "Australa"),
    "CA": ("Canda", "Cananda"),
    "NL": ("Netherland", "Netherlads", "Nederlands"),
}


@dataclass(frozen=True)
class Address:
    """True address values, one row per entity (or per record once indexed)."""

    street: Strings
    city: Strings
    postcode: Strings
    region: Strings
    country: np.ndarray  # index into COUNTRIES

    def take(self, rows: np.ndarray) -> Address:
        return Address(*(getattr(self, f)[rows] for f in ("street", "city", "postcode", "region", "country")))

    def where(self, use_other: np.ndarray, other: Address) -> Address:
        return Address(
            *(
                np.where(use_other, getattr(other, f), getattr(self, f))
                for f in ("street", "city", "postcode", "region", "country")
            )
        )


def draw_addresses(pools: AddressPools, rng: np.random.Generator, country: np.ndarray) -> Address:
    return Address(
        street=pools.street.latin[pools.street.draw(rng, country)],
        city=pools.city.latin[pools.city.draw(rng, country)],
        postcode=pools.postcode.latin[pools.postcode.draw(rng, country)],
        region=pools.region.latin[pools.region.draw(rng, country)],
        country=country,
    )


def iso_codes(country: np.ndarray) -> Strings:
    return strings(COUNTRIES)[country]


STREET_ABBREVIATIONS: dict[str, str] = {
    "Street": "St",
    "Avenue": "Ave.",
    "Road": "Rd",
    "Suite": "Ste",
    "Boulevard": "Blvd",
    "Drive": "Dr.",
    "Straße": "Str.",
    "straße": "str.",
    "Apt.": "#",
}
_STREET_WORDS = "|".join(re.escape(word) for word in STREET_ABBREVIATIONS)


@dataclass(frozen=True)
class AddressMess:
    """Missing-value shares per address field; the other kinds of mess are the same everywhere."""

    street: Shares
    city: Shares
    postcode: Shares
    region: Shares
    country: Shares


def render_address(true: Address, batch: RecordBatch, missing: AddressMess) -> dict[str, Strings]:
    """Stored address fields of a batch of records, logging each value that differs from the truth."""
    codes = iso_codes(true.country)
    return {
        "street": _street(true.street, batch, missing.street),
        "city": _city(true.city, batch, missing.city),
        "postcode": _postcode(true.postcode, codes, batch, missing.postcode),
        "region": _region(true.region, codes, batch, missing.region),
        "country": _country(true.country, batch, missing.country),
    }


def spell_countries(country: np.ndarray, rng: np.random.Generator) -> Strings:
    """Each country written one of the ways people write it."""
    out = nones(len(country))
    for i, code in enumerate(COUNTRIES):
        rows = np.flatnonzero(country == i)
        spellings = COUNTRY_SPELLINGS[code]
        names = strings([name for name, _ in spellings])
        out[rows] = names[weighted_choice(rng, [w for _, w in spellings], len(rows))]
    return out


def _country(country: np.ndarray, batch: RecordBatch, missing: Shares) -> Strings:
    kinds = batch.mess({"missing": missing, "typo": (0.015, 0.03)})
    stored = spell_countries(country, batch.rng)
    for i, code in enumerate(COUNTRIES):
        rows = np.flatnonzero((kinds == "typo") & (country == i))
        stored[rows] = strings(COUNTRY_TYPOS[code])[
            batch.rng.integers(0, len(COUNTRY_TYPOS[code]), len(rows))
        ]
    stored[kinds == "missing"] = None
    batch.record("country", iso_codes(country), stored, kinds, default_kind="variant")
    return stored


def _street(true: Strings, batch: RecordBatch, missing: Shares) -> Strings:
    kinds = batch.mess({"missing": missing, "upper": (0.02, 0.03), "abbreviation": (0.05, 0.10)})
    stored = true.copy()
    rows = kinds == "upper"
    stored[rows] = str_method(true[rows], "upper")
    rows = kinds == "abbreviation"
    stored[rows] = str_method(
        true[rows], "replace", _STREET_WORDS, lambda m: STREET_ABBREVIATIONS[m.group(0)], regex=True
    )
    stored[kinds == "missing"] = None
    batch.record("street", true, stored, kinds)
    return stored


def _city(true: Strings, batch: RecordBatch, missing: Shares) -> Strings:
    kinds = batch.mess(
        {
            "missing": missing,
            "upper": (0.03, 0.05),
            "lower": (0.02, 0.04),
            "whitespace": (0.01, 0.02),
            "typo": (0, 0.04),
        }
    )
    stored = true.copy()
    for kind in ("upper", "lower"):
        rows = kinds == kind
        stored[rows] = str_method(true[rows], kind)
    rows = kinds == "whitespace"
    stored[rows] = whitespace(true[rows], batch.rng)
    rows = kinds == "typo"
    stored[rows] = typos(true[rows], batch.rng)
    stored[kinds == "missing"] = None
    batch.record("city", true, stored, kinds)
    return stored


def _postcode(true: Strings, codes: Strings, batch: RecordBatch, missing: Shares) -> Strings:
    kinds = batch.mess({"missing": missing, "format": (0.08, 0.12)})
    stored = true.copy()
    reformat = kinds == "format"
    zip4 = reformat & (codes == "US") & (batch.rng.random(len(true)) < 0.5)
    stored[zip4] = true[zip4] + "-" + digits(batch.rng.integers(0, 10_000, int(zip4.sum())), 4)
    # A spreadsheet round trip eats the leading zero of New England ZIP codes.
    lost = reformat & (codes == "US") & ~zip4
    stored[lost] = str_method(true[lost], "lstrip", "0")
    squeeze = reformat & np.isin(codes, ["GB", "CA", "NL"])
    stored[squeeze] = str_method(true[squeeze], "replace", " ", "", regex=False)
    lower = squeeze & (batch.rng.random(len(true)) < 0.4)
    stored[lower] = str_method(stored[lower], "lower")
    stored[kinds == "missing"] = None
    # A ZIP+4 is a more precise true value, not a corruption of the 5-digit ZIP: nothing to undo.
    exact = true.copy()
    exact[zip4] = stored[zip4]
    batch.record("postcode", exact, stored, kinds)
    return stored


def _region(true: Strings, codes: Strings, batch: RecordBatch, missing: Shares) -> Strings:
    kinds = batch.mess({"missing": missing, "name": (0.30, 0.35), "lower": (0.02, 0.04)})
    stored = true.copy()
    for code, names in REGION_NAMES.items():
        rows = (kinds == "name") & (codes == code)
        spelled = pd.Series(true[rows], dtype=object).map(names)
        if code == "US":
            # Newspaper-style abbreviations ("Calif.") for a quarter of the states that have one.
            ap = pd.Series(true[rows], dtype=object).map(US_STATES_AP)
            use_ap = ap.notna().to_numpy() & (batch.rng.random(len(ap)) < 0.25)
            spelled[use_ap] = ap[use_ap]
        stored[rows] = spelled.fillna(pd.Series(true[rows], dtype=object)).to_numpy(dtype=object)
    rows = kinds == "lower"
    stored[rows] = str_method(true[rows], "lower")
    stored[kinds == "missing"] = None
    batch.record("region", true, stored, kinds, default_kind="name")
    return stored
