"""Companies: names with their legal forms written many ways, websites in every shape, industries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_hygiene.demo.mess import RecordBatch, Shares
from crm_hygiene.demo.pools import COUNTRIES, Pools
from crm_hygiene.demo.vectors import (
    Strings,
    choose,
    fill,
    nones,
    str_method,
    strings,
    typos,
    weighted_choice,
    whitespace,
)

Spellings = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class LegalForm:
    """A legal form of one country: canonical abbreviation and how it is written after the name."""

    country: str
    canonical: str
    spellings: Spellings  # each with its separator (" Inc", ", Inc.")
    weight: float


INC: Spellings = (
    (" Inc.", 30), (" Inc", 25), (", Inc.", 20), (", Inc", 8), (" Incorporated", 7), (" INC", 3), (", Incorporated", 2),
)  # fmt: skip
LEGAL_FORMS: tuple[LegalForm, ...] = (
    LegalForm("US", "Inc.", INC, 0.55),
    LegalForm("US", "LLC", ((" LLC", 60), (" L.L.C.", 10), (", LLC", 20), (" Llc", 5), (" llc", 3)), 0.35),
    LegalForm("US", "Corp.", ((" Corp.", 40), (" Corp", 20), (" Corporation", 30), (", Corp.", 5)), 0.10),
    LegalForm("CA", "Inc.", INC, 0.5),
    LegalForm("CA", "Ltd.", ((" Ltd.", 40), (" Ltd", 30), (" Limited", 30)), 0.3),
    LegalForm("CA", "Corp.", ((" Corp.", 50), (" Corporation", 40), (" Corp", 10)), 0.2),
    LegalForm("GB", "Ltd", ((" Ltd", 45), (" Ltd.", 20), (" Limited", 25), (" LTD", 7), (" ltd", 3)), 0.8),
    LegalForm("GB", "plc", ((" plc", 40), (" PLC", 40), (" Plc", 10), (" Public Limited Company", 5)), 0.2),
    LegalForm("DE", "GmbH", ((" GmbH", 70), (" Gmbh", 10), (" GMBH", 8), (" G.m.b.H.", 5), (" mbH", 2)), 0.7),
    LegalForm("DE", "AG", ((" AG", 85), (" Aktiengesellschaft", 15)), 0.15),
    LegalForm("DE", "GmbH & Co. KG", ((" GmbH & Co. KG", 70), (" GmbH & Co KG", 20), (" GmbH u. Co. KG", 10)), 0.15),
    LegalForm("FR", "SAS", ((" SAS", 70), (" S.A.S.", 25), (" S.A.S", 5)), 0.5),
    LegalForm("FR", "S.A.", ((" S.A.", 50), (" SA", 45), (" S.A", 5)), 0.3),
    LegalForm("FR", "SARL", ((" SARL", 70), (" S.A.R.L.", 20), (" Sarl", 10)), 0.2),
    LegalForm("NL", "B.V.", ((" B.V.", 55), (" BV", 30), (" B.V", 8), (" bv", 5), (" B.v.", 2)), 0.8),
    LegalForm("NL", "N.V.", ((" N.V.", 60), (" NV", 35), (" N.V", 5)), 0.2),
    LegalForm("BR", "Ltda.", ((" Ltda.", 50), (" Ltda", 35), (" LTDA", 15)), 0.65),
    LegalForm("BR", "S.A.", ((" S.A.", 60), (" S/A", 25), (" SA", 15)), 0.35),
    LegalForm("JP", "K.K.", ((" K.K.", 35), (" KK", 15), (" Kabushiki Kaisha", 10), (" Co., Ltd.", 30),
                             (" Co. Ltd", 10)), 1.0),
    LegalForm("AU", "Pty Ltd", ((" Pty Ltd", 60), (" Pty. Ltd.", 20), (" PTY LTD", 10), (" Pty Limited", 5),
                                (" Proprietary Limited", 5)), 0.9),
    LegalForm("AU", "Ltd", ((" Ltd", 60), (" Limited", 40)), 0.1),
    LegalForm("IN", "Pvt. Ltd.", ((" Pvt. Ltd.", 40), (" Pvt Ltd", 30), (" Private Limited", 20), (" (P) Ltd", 5),
                                  (" PVT LTD", 5)), 0.8),
    LegalForm("IN", "Ltd.", ((" Ltd.", 50), (" Limited", 50)), 0.2),
)  # fmt: skip

TOP_LEVEL_DOMAINS: dict[str, Spellings] = {
    "US": ((".com", 80), (".io", 8), (".co", 5), (".net", 4), (".us", 3)),
    "GB": ((".co.uk", 60), (".com", 35), (".uk", 5)),
    "DE": ((".de", 80), (".com", 20)),
    "FR": ((".fr", 70), (".com", 30)),
    "IN": ((".in", 40), (".co.in", 20), (".com", 40)),
    "BR": ((".com.br", 75), (".com", 25)),
    "JP": ((".co.jp", 60), (".jp", 20), (".com", 20)),
    "AU": ((".com.au", 80), (".com", 20)),
    "CA": ((".ca", 60), (".com", 40)),
    "NL": ((".nl", 80), (".com", 20)),
}

# Word in a company name -> the industry it suggests (None: says nothing about the industry).
NOUNS: dict[str, str | None] = {
    "Systems": "Software", "Labs": "Research", "Logistics": "Logistics & Supply Chain", "Analytics": "Software",
    "Dynamics": "Manufacturing", "Solutions": "IT Services", "Networks": "Telecommunications",
    "Foods": "Food & Beverages", "Health": "Hospital & Health Care", "Energy": "Energy",
    "Capital": "Financial Services", "Software": "Software", "Robotics": "Manufacturing", "Media": "Media",
    "Partners": "Consulting", "Bio": "Biotechnology", "Motors": "Automotive", "Textiles": "Textiles",
    "Consulting": "Consulting", "Pharma": "Pharmaceuticals", "Insurance": "Insurance", "Bank": "Banking",
    "Construction": "Construction", "Realty": "Real Estate", "Hotels": "Hospitality", "Retail": "Retail",
    "Group": None, "Holdings": None, "Technologies": "Software", "Industries": "Manufacturing",
    "Security": "Computer & Network Security", "Learning": "Education", "Design": "Design",
    "Engineering": "Engineering", "Marine": "Maritime", "Aerospace": "Aviation & Aerospace",
    "Chemicals": "Chemicals", "Legal": "Legal Services", "Studios": "Media", "Foundry": "Manufacturing",
}  # fmt: skip
INDUSTRIES: tuple[str, ...] = tuple(sorted({i for i in NOUNS.values() if i is not None}))
INDUSTRY_VARIANTS: dict[str, tuple[str, ...]] = {
    "Software": ("Computer Software", "SaaS", "Software Development"),
    "IT Services": ("Information Technology & Services", "IT", "Information Technology"),
    "Financial Services": ("Finance", "FinTech", "Financial services"),
    "Hospital & Health Care": ("Healthcare", "Health Care", "Hospitals"),
    "Logistics & Supply Chain": ("Logistics", "Transportation/Trucking/Railroad", "Supply Chain"),
    "Food & Beverages": ("Food & Beverage", "F&B", "Food Production"),
    "Real Estate": ("Commercial Real Estate", "Property"),
    "Telecommunications": ("Telecom", "Telco"),
    "Pharmaceuticals": ("Pharma", "Pharmaceutical"),
    "Automotive": ("Auto", "Automobiles"),
}
PREFIXES: tuple[str, ...] = (
    "North", "South", "East", "West", "Blue", "Silver", "Bright", "Green", "Red", "Summit", "Apex", "Nova",
    "Quantum", "Pioneer", "Atlas", "Vertex", "Crescent", "Iron", "Golden", "Clear", "True", "Prime", "Swift",
    "Cedar", "Harbor", "Stone", "River", "Sky", "Lake", "Oak", "Pine", "Maple", "Delta", "Orbit", "Polar",
    "Solar", "Lunar", "Bold", "Core", "Granite",
)  # fmt: skip
ROOTS: tuple[str, ...] = (
    "wind", "bridge", "stone", "field", "point", "gate", "peak", "line", "wave", "path", "light", "works",
    "ridge", "view", "crest", "haven", "brook", "dale", "ford", "well", "star", "forge", "mark", "shore",
)  # fmt: skip
SYLLABLES: tuple[str, ...] = (
    "zen", "tri", "vo", "lu", "ka", "ri", "quo", "vex", "mo", "na", "tek", "lix", "dra", "sy", "no", "va",
    "xo", "fi", "ra", "bel", "cor", "dia", "ex", "gen", "hub", "io", "jo", "kin", "lum", "mer", "nex", "ora",
    "pix", "qui", "ro", "sol", "tor", "uni", "vir", "wex", "zo", "al", "ar", "el", "en", "is", "on", "um",
    "ba", "cy", "da", "fu", "ga", "ho", "ky", "le", "mi", "nu", "pa", "re", "si", "ta", "ve", "wy", "ze", "tra",
    "bri", "clo", "fle", "gra", "pro", "stra", "ion", "ity", "ium", "ent", "ax", "yx", "oo", "lo",
)  # fmt: skip
# Shares of the name patterns below; repeated draws for names already taken use brands only,
# the one pattern with room for millions of names.
NAME_PATTERNS: tuple[float, ...] = (25, 15, 10, 8, 4, 34, 4)
BRAND_ONLY: tuple[float, ...] = (0, 0, 0, 0, 0, 1, 0)
WEBSITE_FORMATS: Spellings = (
    ("{d}", 25), ("www.{d}", 20), ("https://www.{d}", 15), ("http://www.{d}", 8), ("https://{d}", 8),
    ("https://www.{d}/", 5), ("http://{d}/", 3), ("https://www.{d}/about", 3), ("https://{d}/en-us/contact", 2),
    ("WWW.{D}", 3), ("{D}", 2), ("www.{d}/", 2), ("https://www.{d}/index.html", 1), ("Www.{d}", 1),
    ("http://www.{d}/home", 2),
)  # fmt: skip


@dataclass(frozen=True)
class Companies:
    """Companies (the true entities behind company records)."""

    country: np.ndarray  # index into COUNTRIES
    base: Strings  # the name without legal form: "Hoffmann Logistics"
    legal_form: np.ndarray  # index into LEGAL_FORMS
    domain: Strings  # "hoffmann-logistics.de"
    alt_domain: Strings  # another domain the company uses: "hoffmann-logistics.com", "gethoffmann.de"
    industry: Strings

    def __len__(self) -> int:
        return len(self.country)

    def take(self, rows: np.ndarray) -> Companies:
        return Companies(
            self.country[rows],
            self.base[rows],
            self.legal_form[rows],
            self.domain[rows],
            self.alt_domain[rows],
            self.industry[rows],
        )

    def names(self) -> Strings:
        """True names: "<name> <legal form>" ("Acme Inc.")."""
        return self.base + " " + strings([f.canonical for f in LEGAL_FORMS])[self.legal_form]


def _pick(rng: np.random.Generator, values: tuple[str, ...], n: int) -> Strings:
    return strings(values)[rng.integers(0, len(values), n)]


def _candidates(
    pools: Pools, rng: np.random.Generator, country: np.ndarray, patterns: tuple[float, ...]
) -> tuple[Strings, Strings, Strings]:
    """Candidate names, domain stems and industries (None: to be drawn) of companies of the given countries."""
    n = len(country)
    pattern = weighted_choice(rng, patterns, n)
    family_index = pools.family.draw(rng, country)
    partner_index = pools.family.draw(rng, country)
    nouns, noun_slugs = strings(list(NOUNS)), strings([noun.lower() for noun in NOUNS])
    noun_index = rng.integers(0, len(nouns), n)
    with_noun = rng.random(n) < 0.5
    hyphen = choose(rng.random(n) < 0.3, "-", "")
    base, stem = nones(n), nones(n)
    for p in range(7):
        r = np.flatnonzero(pattern == p)
        family, family_slug = pools.family.latin[family_index[r]], pools.family.slug[family_index[r]]
        partner, partner_slug = pools.family.latin[partner_index[r]], pools.family.slug[partner_index[r]]
        noun, noun_slug = nouns[noun_index[r]], noun_slugs[noun_index[r]]
        if p == 0:  # Hoffmann Logistics
            names, stems = family + " " + noun, family_slug + hyphen[r] + noun_slug
        elif p == 1:  # Northbridge (Systems)
            compound = _pick(rng, PREFIXES, len(r)) + _pick(rng, ROOTS, len(r))
            names = choose(with_noun[r], compound + " " + noun, compound)
            stems = str_method(
                choose(with_noun[r] & (hyphen[r] == "-"), compound + "-" + noun, compound), "lower"
            )
        elif p == 2:  # Smith & Jones
            names, stems = family + " & " + partner, family_slug + partner_slug
        elif p == 3:  # Smith-Jones
            names, stems = family + "-" + partner, family_slug + "-" + partner_slug
        elif p == 4:  # Smith, Jones and Partners
            firm = _pick(rng, ("Partners", "Associates", "Sons", "Co"), len(r))
            names, stems = family + ", " + partner + " and " + firm, family_slug + partner_slug
        elif p == 5:  # Zentrix (Labs)
            brand = _pick(rng, SYLLABLES, len(r)) + _pick(rng, SYLLABLES, len(r))
            longer = rng.random(len(r)) < 0.8
            brand[longer] = brand[longer] + _pick(rng, SYLLABLES, int(longer.sum()))
            stems = choose(with_noun[r] & (rng.random(len(r)) < 0.5), brand + hyphen[r] + noun_slug, brand)
            brand = str_method(brand, "capitalize")
            names = choose(with_noun[r], brand + " " + noun, brand)
        else:  # Blue Analytics
            prefix = _pick(rng, PREFIXES, len(r))
            names, stems = prefix + " " + noun, str_method(prefix, "lower") + hyphen[r] + noun_slug
        base[r], stem[r] = names, stems
    industry = nones(n)
    says_industry = np.isin(pattern, (0, 6)) | (np.isin(pattern, (1, 5)) & with_noun)
    industry[says_industry] = strings(list(NOUNS.values()))[noun_index[says_industry]]
    return base, stem, industry


def draw_companies(pools: Pools, rng: np.random.Generator, country: np.ndarray) -> Companies:
    """Companies of the given countries, with unique names and unique domains."""
    n = len(country)
    tld = nones(n)
    legal_form = np.zeros(n, dtype=np.int64)
    for c, code in enumerate(COUNTRIES):
        rows = np.flatnonzero(country == c)
        options = TOP_LEVEL_DOMAINS[code]
        tld[rows] = strings([t for t, _ in options])[weighted_choice(rng, [w for _, w in options], len(rows))]
        forms = [i for i, f in enumerate(LEGAL_FORMS) if f.country == code]
        legal_form[rows] = np.asarray(forms)[
            weighted_choice(rng, [LEGAL_FORMS[i].weight for i in forms], len(rows))
        ]

    base, stem, industry = nones(n), nones(n), nones(n)
    missing = np.arange(n)
    taken_names, taken_domains = nones(0), nones(0)
    for attempt in range(100):
        if not len(missing):
            break
        b, s, i = _candidates(pools, rng, country[missing], NAME_PATTERNS if attempt < 2 else BRAND_ONLY)
        names, domains = str_method(b, "lower"), s + tld[missing]
        # A candidate is fresh if neither its name nor its domain was taken before or earlier in this batch.
        clash = pd.Series(np.concatenate([taken_names, names]), dtype=object).duplicated().to_numpy()
        clash |= pd.Series(np.concatenate([taken_domains, domains]), dtype=object).duplicated().to_numpy()
        fresh = ~clash[len(taken_names) :]
        rows = missing[fresh]
        base[rows], stem[rows], industry[rows] = b[fresh], s[fresh], i[fresh]
        taken_names = np.concatenate([taken_names, names[fresh]])
        taken_domains = np.concatenate([taken_domains, domains[fresh]])
        missing = missing[~fresh]
    if len(missing):
        raise RuntimeError(f"could not find {n} distinct company names and domains")

    undecided = np.flatnonzero(pd.isna(industry))
    industry[undecided] = _pick(rng, INDUSTRIES, len(undecided))
    domain = stem + tld
    return Companies(country, base, legal_form, domain, _alt_domains(stem, tld, country, rng), industry)


def _alt_domains(stem: Strings, tld: Strings, country: np.ndarray, rng: np.random.Generator) -> Strings:
    n = len(stem)
    # Another top-level domain than the main one: the national one for a .com, else .com.
    national = strings([TOP_LEVEL_DOMAINS[c][0][0] if c != "US" else ".net" for c in COUNTRIES])[country]
    other_tld = choose(tld == ".com", national, ".com")
    kind = rng.integers(0, 4, n)
    options = (
        stem + other_tld,
        "get" + stem + tld,
        stem + _pick(rng, ("-inc", "corp", "group", "hq", "-online"), n) + tld,
        stem + "-" + _pick(rng, ("global", "intl", "digital"), n) + tld,
    )
    out = nones(n)
    for k, values in enumerate(options):
        out[kind == k] = values[kind == k]
    return out


def render_names(
    companies: Companies,
    batch: RecordBatch,
    field: str = "name",
    true: Strings | None = None,
    stale: np.ndarray | None = None,
    missing: Shares = (0.0, 0.0),
) -> Strings:
    """Stored company names (`companies` indexed per record).

    Logged against `true` (default: their own names); `stale` marks records that name a former employer.
    """
    rng = batch.rng
    n = len(batch)
    suffix = nones(n)
    for f, form in enumerate(LEGAL_FORMS):
        rows = np.flatnonzero(companies.legal_form == f)
        spellings = strings([s for s, _ in form.spellings])
        suffix[rows] = spellings[weighted_choice(rng, [w for _, w in form.spellings], len(rows))]
    kinds = batch.mess(
        {
            "missing": missing,
            "missing_legal_form": (0.15, 0.25),
            "upper": (0.03, 0.05),
            "lower": (0.02, 0.04),
            "whitespace": (0.02, 0.03),
            "the_prefix": (0.005, 0.01),
            "typo": (0.0, 0.10),
        }
    )
    base = companies.base.copy()
    rows = kinds == "typo"
    base[rows] = typos(base[rows], rng)
    suffix[kinds == "missing_legal_form"] = ""
    stored = base + suffix
    for kind in ("upper", "lower"):
        rows = kinds == kind
        stored[rows] = str_method(stored[rows], kind)
    rows = kinds == "whitespace"
    stored[rows] = whitespace(stored[rows], rng)
    rows = kinds == "the_prefix"
    stored[rows] = "The " + stored[rows]
    stored[kinds == "missing"] = None
    if true is None:
        true = companies.names()
    if stale is not None:
        kinds[stale & (kinds != "missing")] = "stale_employer"
    batch.record(field, true, stored, kinds, default_kind="legal_suffix")
    return stored


def render_websites(companies: Companies, batch: RecordBatch) -> Strings:
    rng = batch.rng
    kinds = batch.mess({"missing": (0.10, 0.2), "domain_variant": (0.0, 0.05), "typo": (0.0, 0.02)})
    domain = companies.domain.copy()
    rows = kinds == "domain_variant"
    domain[rows] = companies.alt_domain[rows]
    rows = kinds == "typo"
    domain[rows] = typos(domain[rows], rng)
    upper = str_method(domain, "upper")
    which = weighted_choice(rng, [w for _, w in WEBSITE_FORMATS], len(domain))
    stored = nones(len(domain))
    for f, (template, _) in enumerate(WEBSITE_FORMATS):
        rows = which == f
        stored[rows] = fill(template, int(rows.sum()), d=domain[rows], D=upper[rows])
    stored[kinds == "missing"] = None
    batch.record("website", companies.domain, stored, kinds)
    return stored


def render_industries(companies: Companies, batch: RecordBatch) -> Strings:
    rng = batch.rng
    kinds = batch.mess({"missing": (0.15, 0.25), "variant": (0.12, 0.15), "lower": (0.02, 0.03)})
    stored = companies.industry.copy()
    for industry, variants in INDUSTRY_VARIANTS.items():
        rows = np.flatnonzero((kinds == "variant") & (stored == industry))
        stored[rows] = _pick(rng, variants, len(rows))
    rows = kinds == "lower"
    stored[rows] = str_method(stored[rows], "lower")
    stored[kinds == "missing"] = None
    batch.record("industry", companies.industry, stored, kinds, default_kind="variant")
    return stored
