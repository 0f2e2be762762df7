"""Phone numbers of ten countries, valid in form, written in the many ways people write them.

Each number follows a national numbering plan (area code, subscriber length, leading digit),
so a real parser accepts the clean ones; the true value is the E.164 form ("+14155550134").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import phonenumbers

from crm_hygiene.demo.mess import RecordBatch, Shares
from crm_hygiene.demo.pools import COUNTRIES
from crm_hygiene.demo.vectors import (
    Strings,
    digits,
    fill,
    isnone,
    nones,
    str_method,
    strings,
    weighted_choice,
)

Formats = tuple[tuple[str, float], ...]

# Placeholders: {cc} calling code, {a} area code, {s} subscriber number, {g0}.. its written groups.
NANP: Formats = (
    ("({a}) {g0}-{g1}", 25),
    ("{a}-{g0}-{g1}", 15),
    ("{a}.{g0}.{g1}", 10),
    ("{a}{s}", 6),
    ("+1 {a} {g0} {g1}", 10),
    ("+1-{a}-{g0}-{g1}", 6),
    ("+1 ({a}) {g0}-{g1}", 6),
    ("1-{a}-{g0}-{g1}", 5),
    ("1 ({a}) {g0}-{g1}", 3),
    ("+1{a}{s}", 8),
    ("{a} {g0} {g1}", 5),
    ("001 {a} {g0} {g1}", 1),
)
TWO_GROUPS: Formats = (
    ("0{a} {g0} {g1}", 30),
    ("+{cc} {a} {g0} {g1}", 20),
    ("+{cc} (0){a} {g0} {g1}", 10),
    ("00{cc} {a} {g0} {g1}", 8),
    ("0{a}{s}", 8),
    ("+{cc}{a}{s}", 8),
    ("(0{a}) {g0} {g1}", 6),
    ("+{cc}-{a}-{g0}-{g1}", 3),
    ("0{a}-{g0}{g1}", 3),
)
ONE_GROUP: Formats = (
    ("0{a} {s}", 30),
    ("+{cc} {a} {s}", 20),
    ("+{cc} (0){a} {s}", 8),
    ("00{cc} {a} {s}", 6),
    ("0{a}{s}", 10),
    ("+{cc}{a}{s}", 8),
    ("0{a}/{s}", 6),
    ("0{a}-{s}", 6),
    ("(0{a}) {s}", 4),
)
FRENCH: Formats = (
    ("0{a} {g0} {g1} {g2} {g3}", 35),
    ("0{a}{s}", 10),
    ("0{a}.{g0}.{g1}.{g2}.{g3}", 10),
    ("+33 {a} {g0} {g1} {g2} {g3}", 20),
    ("+33 (0){a} {g0} {g1} {g2} {g3}", 8),
    ("0033 {a} {g0} {g1} {g2} {g3}", 5),
    ("+33{a}{s}", 7),
    ("0{a}-{g0}-{g1}-{g2}-{g3}", 5),
)
INDIAN_MOBILE: Formats = (
    ("+91 {a}{g0} {g1}", 30),
    ("+91-{a}{s}", 10),
    ("0{a}{g0} {g1}", 10),
    ("{a}{s}", 20),
    ("+91 {a}{s}", 10),
    ("+91{a}{s}", 10),
    ("091-{a}{s}", 3),
)
BRAZILIAN: Formats = (
    ("({a}) {g0}-{g1}", 35),
    ("+55 {a} {g0}-{g1}", 20),
    ("+55 ({a}) {g0}-{g1}", 15),
    ("{a} {g0}-{g1}", 10),
    ("+55{a}{s}", 8),
    ("({a}){g0}{g1}", 5),
    ("0xx{a} {g0}-{g1}", 3),
)
JAPANESE: Formats = (
    ("0{a}-{g0}-{g1}", 40),
    ("+81 {a}-{g0}-{g1}", 15),
    ("+81 {a} {g0} {g1}", 10),
    ("0{a}{s}", 10),
    ("(0{a}) {g0}-{g1}", 5),
    ("+81-{a}-{g0}-{g1}", 8),
    ("+81{a}{s}", 7),
    ("+81 (0){a}-{g0}-{g1}", 5),
)
AUSTRALIAN_MOBILE: Formats = (
    ("0{a} {g0} {g1}", 35),
    ("+61 {a} {g0} {g1}", 20),
    ("0{a}{s}", 15),
    ("+61{a}{s}", 10),
    ("0{a}-{g0}-{g1}", 5),
    ("(0{a}) {g0} {g1}", 3),
)


@dataclass(frozen=True)
class Plan:
    """One kind of number of one country: area codes, subscriber length and how it is written."""

    country: str
    calling_code: str
    areas: tuple[str, ...]
    subscriber_digits: int
    groups: tuple[int, ...]
    formats: Formats
    weight: float = 1.0
    first_digits: str = "23456789"


PLANS: tuple[Plan, ...] = (
    Plan("US", "1", ("212", "646", "415", "628", "312", "617", "206", "512", "303", "404", "305", "214",
                     "713", "702", "858", "310", "503", "612", "919", "602"), 7, (3, 4), NANP),
    Plan("CA", "1", ("416", "647", "604", "778", "514", "438", "403", "587", "613", "902", "204", "306"),
         7, (3, 4), NANP),
    Plan("GB", "44", ("20",), 8, (4, 4), TWO_GROUPS, 0.45, "378"),
    Plan("GB", "44", ("161", "121", "113", "131", "141", "117"), 7, (3, 4), TWO_GROUPS, 0.25),
    Plan("GB", "44", ("7712", "7911", "7400", "7568", "7823", "7946", "7782"), 6, (6,), ONE_GROUP, 0.30),
    Plan("DE", "49", ("30", "40", "89", "69"), 8, (4, 4), ONE_GROUP, 0.45),
    Plan("DE", "49", ("221", "211", "711", "341", "351", "421"), 7, (3, 4), ONE_GROUP, 0.25),
    Plan("DE", "49", ("151", "160", "170", "171", "176", "157"), 8, (4, 4), ONE_GROUP, 0.30),
    Plan("FR", "33", ("1", "2", "3", "4", "5", "9"), 8, (2, 2, 2, 2), FRENCH, 0.6, "123456789"),
    Plan("FR", "33", ("6", "7"), 8, (2, 2, 2, 2), FRENCH, 0.4, "123456789"),
    Plan("IN", "91", ("98", "99", "97", "96", "94", "90", "88", "70", "81", "63"), 8, (3, 5), INDIAN_MOBILE,
         0.7, "0123456789"),
    Plan("IN", "91", ("11", "22", "80", "44", "40", "33"), 8, (4, 4), TWO_GROUPS, 0.3),
    Plan("BR", "55", ("11", "21", "31", "41", "51", "61", "71", "81"), 9, (5, 4), BRAZILIAN, 0.6, "9"),
    Plan("BR", "55", ("11", "21", "31", "41", "51", "61", "71", "81"), 8, (4, 4), BRAZILIAN, 0.4, "2345"),
    Plan("JP", "81", ("3", "6"), 8, (4, 4), JAPANESE, 0.5),
    Plan("JP", "81", ("90", "80", "70"), 8, (4, 4), JAPANESE, 0.5, "123456789"),
    Plan("AU", "61", ("2", "3", "7", "8"), 8, (4, 4), TWO_GROUPS, 0.5),
    Plan("AU", "61", ("412", "413", "400", "401", "423", "438", "447", "450", "466", "478", "490"), 6, (3, 3),
         AUSTRALIAN_MOBILE, 0.5, "0123456789"),
    Plan("NL", "31", ("20", "10", "70", "30", "40"), 7, (3, 4), TWO_GROUPS, 0.6),
    Plan("NL", "31", ("6",), 8, (4, 4), ONE_GROUP, 0.4, "123456789"),
)  # fmt: skip

EXTENSION_FORMATS: Formats = (
    (" x{e}", 30),
    (" ext. {e}", 25),
    (" ext {e}", 15),
    (" Ext. {e}", 10),
    (" x {e}", 8),
    (" #{e}", 5),
    (" (ext. {e})", 7),
)
GARBAGE: tuple[str, ...] = (
    "n/a", "N/A", "none", "-", "0", "000-000-0000", "1234567890", "TBD", "see email", "call reception",
    "555-5555", "123", "+1", "(000) 000-0000", "x", "please call main line", "9999999999", "no phone", "?",
)  # fmt: skip


@dataclass(frozen=True)
class Phones:
    """True phone numbers, one per entity: numbering plan, area code, subscriber number, extension."""

    plan: np.ndarray
    area: Strings
    subscriber: np.ndarray
    extension: Strings  # None when the number has none

    def take(self, rows: np.ndarray) -> Phones:
        return Phones(self.plan[rows], self.area[rows], self.subscriber[rows], self.extension[rows])

    def e164(self) -> Strings:
        """The true value: E.164, plus ";ext=NNN" for numbers with an extension."""
        out = nones(len(self.plan))
        for i, plan in enumerate(PLANS):
            rows = self.plan == i
            out[rows] = (
                "+"
                + plan.calling_code
                + self.area[rows]
                + digits(self.subscriber[rows], plan.subscriber_digits)
            )
        has_extension = ~isnone(self.extension)
        out[has_extension] = out[has_extension] + ";ext=" + self.extension[has_extension]
        return out


MAX_REDRAWS = 100


@cache
def _allocated(country: str) -> re.Pattern[str]:
    """National numbers in use in `country` (fixed line or mobile), from phonenumbers' metadata."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(country)
    patterns = [
        desc.national_number_pattern
        for desc in (metadata.fixed_line, metadata.mobile)
        if desc is not None and desc.national_number_pattern
    ]
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def valid_national(plan: Plan, area: Strings, subscriber: np.ndarray) -> np.ndarray:
    """Whether each national number (area code + subscriber) is in an allocated range."""
    national = pd.Series(area + digits(subscriber, plan.subscriber_digits), dtype=object)
    return national.str.fullmatch(_allocated(plan.country)).to_numpy(dtype=bool)


def draw_phones(rng: np.random.Generator, country: np.ndarray, extension_share: float = 0.0) -> Phones:
    """One number per row in the row's country (index into COUNTRIES)."""
    n = len(country)
    plan = np.zeros(n, dtype=np.int64)
    area = nones(n)
    subscriber = np.zeros(n, dtype=np.int64)
    for c, code in enumerate(COUNTRIES):
        rows = np.flatnonzero(country == c)
        choices = [i for i, p in enumerate(PLANS) if p.country == code]
        plan[rows] = np.asarray(choices)[weighted_choice(rng, [PLANS[i].weight for i in choices], len(rows))]
    for i, p in enumerate(PLANS):
        rows = np.flatnonzero(plan == i)
        area[rows] = strings(p.areas)[rng.integers(0, len(p.areas), len(rows))]
        lead = np.asarray([int(d) for d in p.first_digits])[rng.integers(0, len(p.first_digits), len(rows))]
        rest = 10 ** (p.subscriber_digits - 1)
        subscriber[rows] = lead * rest + rng.integers(0, rest, len(rows))
        # Numbering plans leave ranges unallocated; such numbers are redrawn so every true
        # number is valid (a restored phone is then a valid one, not a fluke of the plan).
        for _ in range(MAX_REDRAWS):
            bad = rows[~valid_national(p, area[rows], subscriber[rows])]
            if len(bad) == 0:
                break
            lead = np.asarray([int(d) for d in p.first_digits])[
                rng.integers(0, len(p.first_digits), len(bad))
            ]
            subscriber[bad] = lead * rest + rng.integers(0, rest, len(bad))
    extension = nones(n)
    with_extension = rng.random(n) < extension_share
    extension[with_extension] = digits(rng.integers(10, 1000, int(with_extension.sum())), 3)
    extension[with_extension] = str_method(extension[with_extension], "lstrip", "0")
    return Phones(plan, area, subscriber, extension)


def write_phones(phones: Phones, rng: np.random.Generator) -> Strings:
    """Each number written in one of its country's customary formats (extension included)."""
    out = nones(len(phones.plan))
    for i, plan in enumerate(PLANS):
        rows = np.flatnonzero(phones.plan == i)
        subscriber = digits(phones.subscriber[rows], plan.subscriber_digits)
        fields = {"cc": strings([plan.calling_code] * len(rows)), "a": phones.area[rows], "s": subscriber}
        remaining = plan.subscriber_digits
        for g, width in enumerate(plan.groups):
            remaining -= width
            fields[f"g{g}"] = digits(phones.subscriber[rows] // 10**remaining, width)
        which = weighted_choice(rng, [w for _, w in plan.formats], len(rows))
        for f, (template, _) in enumerate(plan.formats):
            chosen = which == f
            out[rows[chosen]] = fill(template, int(chosen.sum()), **{k: v[chosen] for k, v in fields.items()})
    has_extension = np.flatnonzero(~isnone(phones.extension))
    which = weighted_choice(rng, [w for _, w in EXTENSION_FORMATS], len(has_extension))
    for f, (template, _) in enumerate(EXTENSION_FORMATS):
        rows = has_extension[which == f]
        out[rows] = out[rows] + fill(template, len(rows), e=phones.extension[rows])
    return out


PHONE_MESS: dict[str, Shares] = {
    "garbage": (0.015, 0.02),
    "truncated": (0.01, 0.02),
    "multiple": (0.01, 0.015),
    "spreadsheet": (0.01, 0.01),
}


def render_phones(true: Phones, batch: RecordBatch, missing: Shares, field: str = "phone") -> Strings:
    """Stored phone values of a batch of records, logging each one that is not the E.164 truth."""
    rng = batch.rng
    kinds = batch.mess({"missing": missing, **PHONE_MESS})
    stored = write_phones(true, rng)
    clean = stored.copy()
    rows = kinds == "garbage"
    stored[rows] = strings(GARBAGE)[rng.integers(0, len(GARBAGE), int(rows.sum()))]
    rows = kinds == "truncated"
    stored[rows] = str_method(clean[rows], "slice", 0, -3)
    rows = np.flatnonzero(kinds == "multiple")
    joiners = strings([" / ", " or ", "; ", ", ", " | mobile: "])
    other = clean[rng.integers(0, len(clean), len(rows))]
    stored[rows] = clean[rows] + joiners[rng.integers(0, len(joiners), len(rows))] + other
    rows = kinds == "spreadsheet"  # a leading apostrophe keeps Excel from eating the "+"
    stored[rows] = "'" + clean[rows]
    stored[kinds == "missing"] = None
    kinds[isnone(kinds) & ~isnone(true.extension)] = "extension"
    batch.record(field, true.e164(), stored, kinds)
    return stored
