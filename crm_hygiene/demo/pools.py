"""Pools of realistic values per country, built once with a seeded Faker and then drawn from with numpy.

Faker is slow per call, so it never runs per record: a few hundred to a few thousand draws per country
and kind make a pool, and records pick pool entries by index. Pools keep Faker's repeats, so common
names stay common (two different people called John Smith are part of a realistic CRM).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from faker import Faker

from crm_hygiene.demo.regions import US_STATES
from crm_hygiene.demo.vectors import Strings, strings, uniform_index

COUNTRIES: tuple[str, ...] = ("US", "GB", "DE", "FR", "IN", "BR", "JP", "AU", "CA", "NL")
LOCALES: dict[str, str] = {
    "US": "en_US",
    "GB": "en_GB",
    "DE": "de_DE",
    "FR": "fr_FR",
    "IN": "en_IN",
    "BR": "pt_BR",
    "JP": "ja_JP",
    "AU": "en_AU",
    "CA": "en_CA",
    "NL": "nl_NL",
}
# Names written in the country's own script, for the people a CRM stores that way.
NATIVE_LOCALES: dict[str, str] = {"IN": "hi_IN", "JP": "ja_JP"}

GIVEN_PER_GENDER = 600
FAMILY_PER_COUNTRY = 1000
STREETS_PER_COUNTRY = 800
CITIES_PER_COUNTRY = 300
POSTCODES_PER_COUNTRY = 600
REGIONS_PER_COUNTRY = 300


@dataclass(frozen=True)
class Pool:
    """Entries in blocks (one block per country, or per country and gender); draws stay inside a block."""

    latin: Strings
    native: Strings
    slug: Strings  # lowercase ASCII of the Latin form, for e-mail addresses and domains
    initial: Strings  # first letter of the slug
    start: np.ndarray
    size: np.ndarray

    def draw(self, rng: np.random.Generator, block: np.ndarray) -> np.ndarray:
        return self.start[block] + uniform_index(rng, self.size[block])


@dataclass(frozen=True)
class AddressPools:
    street: Pool
    city: Pool
    postcode: Pool
    region: Pool


@dataclass(frozen=True)
class Pools:
    given: Pool  # block = country * 2 + female
    family: Pool  # block = country
    address: AddressPools  # block = country


def slug(text: str) -> str:
    """Lowercase ASCII letters only, as a name shows up in an e-mail address."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _fakers(seed: int) -> dict[str, Faker]:
    fakers = {}
    for i, locale in enumerate(sorted({*LOCALES.values(), *NATIVE_LOCALES.values()})):
        fake = Faker(locale)
        # Locales sharing data (en_US, en_CA) must not share a random stream.
        fake.seed_instance(seed * 1_000 + i)
        fakers[locale] = fake
    return fakers


def _pool(blocks: list[tuple[list[str], list[str]]]) -> Pool:
    latin = [value for block, _ in blocks for value in block]
    native = [value for _, block in blocks for value in block]
    sizes = np.array([len(block) for block, _ in blocks], dtype=np.int64)
    slugs = [slug(value) or "contact" for value in latin]
    pool = Pool(
        latin=strings(latin),
        native=strings(native),
        slug=strings(slugs),
        initial=strings([value[0] for value in slugs]),
        start=np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64),
        size=sizes,
    )
    for array in (pool.latin, pool.native, pool.slug, pool.initial, pool.start, pool.size):
        array.setflags(write=False)  # pools are cached and shared between generations
    return pool


def _same(values: list[str]) -> tuple[list[str], list[str]]:
    return values, values


def _japanese(fake: Faker, attribute: str, n: int) -> tuple[list[str], list[str]]:
    pairs = getattr(fake.provider("faker.providers.person"), attribute)
    picked = [fake.random_element(pairs) for _ in range(n)]
    return [romaji for _, _, romaji in picked], [kanji for kanji, _, _ in picked]


def _given(fakers: dict[str, Faker], country: str, female: bool) -> tuple[list[str], list[str]]:
    fake = fakers[LOCALES[country]]
    method = "first_name_female" if female else "first_name_male"
    if country == "JP":
        return _japanese(
            fake, "first_name_female_pairs" if female else "first_name_male_pairs", GIVEN_PER_GENDER
        )
    latin = [getattr(fake, method)() for _ in range(GIVEN_PER_GENDER)]
    if country in NATIVE_LOCALES:
        native_fake = fakers[NATIVE_LOCALES[country]]
        return latin, [getattr(native_fake, method)() for _ in range(GIVEN_PER_GENDER)]
    return _same(latin)


def _family(fakers: dict[str, Faker], country: str) -> tuple[list[str], list[str]]:
    fake = fakers[LOCALES[country]]
    if country == "JP":
        return _japanese(fake, "last_name_pairs", FAMILY_PER_COUNTRY)
    latin = [fake.last_name() for _ in range(FAMILY_PER_COUNTRY)]
    if country in NATIVE_LOCALES:
        native_fake = fakers[NATIVE_LOCALES[country]]
        return latin, [native_fake.last_name() for _ in range(FAMILY_PER_COUNTRY)]
    return _same(latin)


_REGION_METHODS: dict[str, Callable[[Faker], str]] = {
    # Faker's own US list also yields territories and freely associated states.
    "US": lambda f: f.random_element(tuple(US_STATES)),
    "GB": lambda f: f.county(),
    "DE": lambda f: f.state(),
    "FR": lambda f: f.region(),
    "IN": lambda f: f.state(),
    "BR": lambda f: f.estado_sigla(),
    "JP": lambda f: f.prefecture(),
    "AU": lambda f: f.state_abbr(),
    "CA": lambda f: f.province_abbr(),
    "NL": lambda f: f.province(),
}


def canonical_postcode(country: str, code: str) -> str:
    """Postcodes the way the national post office writes them (CA "K1A 0B1", NL "1234 AB")."""
    code = code.strip().upper()
    if country == "CA" and len(code) == 6:
        return f"{code[:3]} {code[3:]}"
    if country == "NL" and len(code) == 6:
        return f"{code[:4]} {code[4:]}"
    return code


def _addresses(fakers: dict[str, Faker]) -> AddressPools:
    streets, cities, postcodes, regions = [], [], [], []
    for country in COUNTRIES:
        fake = fakers[LOCALES[country]]
        streets.append(_same([fake.street_address().replace("\n", ", ") for _ in range(STREETS_PER_COUNTRY)]))
        cities.append(_same([fake.city() for _ in range(CITIES_PER_COUNTRY)]))
        postcodes.append(
            _same([canonical_postcode(country, fake.postcode()) for _ in range(POSTCODES_PER_COUNTRY)])
        )
        regions.append(_same([_REGION_METHODS[country](fake) for _ in range(REGIONS_PER_COUNTRY)]))
    return AddressPools(_pool(streets), _pool(cities), _pool(postcodes), _pool(regions))


@lru_cache(maxsize=4)
def build_pools(seed: int) -> Pools:
    """All pools for one seed (cached: pools are read-only and cost about a second to build)."""
    fakers = _fakers(seed)
    given = [_given(fakers, country, female) for country in COUNTRIES for female in (False, True)]
    family = [_family(fakers, country) for country in COUNTRIES]
    return Pools(given=_pool(given), family=_pool(family), address=_addresses(fakers))
