"""E-mail addresses: work addresses at the employer's domain, free-mail, and every way they get mangled."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_hygiene.demo.mess import RecordBatch, Shares
from crm_hygiene.demo.pools import COUNTRIES, Pools
from crm_hygiene.demo.vectors import (
    Strings,
    choose,
    digits,
    fill,
    isnone,
    nones,
    str_method,
    strings,
    typos,
    weighted_choice,
    whitespace,
)

# Placeholders: {f} given name, {l} family name, {i} first initial, {j} family initial, {n} a number.
WORK_PATTERNS: tuple[tuple[str, float], ...] = (
    ("{f}.{l}", 45),
    ("{i}{l}", 20),
    ("{f}{l}", 8),
    ("{f}", 7),
    ("{i}.{l}", 7),
    ("{f}_{l}", 5),
    ("{f}{j}", 5),
    ("{l}.{f}", 3),
)
FREE_PATTERNS: tuple[tuple[str, float], ...] = (
    ("{f}.{l}", 30),
    ("{f}{l}{n}", 25),
    ("{i}{l}{n}", 15),
    ("{f}_{l}", 10),
    ("{f}.{l}{n}", 10),
    ("{l}{f}", 5),
    ("{f}{n}", 5),
)
FREE_MAIL: dict[str, tuple[tuple[str, float], ...]] = {
    "US": (("gmail.com", 50), ("yahoo.com", 18), ("hotmail.com", 10), ("outlook.com", 10), ("aol.com", 5),
           ("icloud.com", 7)),
    "GB": (("gmail.com", 45), ("hotmail.co.uk", 20), ("yahoo.co.uk", 15), ("btinternet.com", 10),
           ("outlook.com", 10)),
    "DE": (("gmail.com", 35), ("gmx.de", 25), ("web.de", 25), ("t-online.de", 15)),
    "FR": (("gmail.com", 40), ("orange.fr", 25), ("free.fr", 15), ("hotmail.fr", 20)),
    "IN": (("gmail.com", 65), ("yahoo.co.in", 20), ("rediffmail.com", 15)),
    "BR": (("gmail.com", 55), ("hotmail.com", 20), ("uol.com.br", 15), ("bol.com.br", 10)),
    "JP": (("gmail.com", 45), ("yahoo.co.jp", 35), ("docomo.ne.jp", 20)),
    "AU": (("gmail.com", 50), ("bigpond.com", 25), ("outlook.com", 25)),
    "CA": (("gmail.com", 55), ("hotmail.com", 20), ("yahoo.ca", 15), ("outlook.com", 10)),
    "NL": (("gmail.com", 45), ("hotmail.nl", 20), ("ziggo.nl", 20), ("kpnmail.nl", 15)),
}  # fmt: skip
ROLE_ADDRESSES: tuple[str, ...] = ("info", "sales", "contact", "office", "hello", "admin", "support", "team")
PLUS_TAGS: tuple[str, ...] = ("crm", "news", "work", "1", "webinar", "leads", "hubspot")

EMAIL_MESS: dict[str, Shares] = {
    "missing": (0.08, 0.12),
    "case": (0.06, 0.08),
    "whitespace": (0.02, 0.03),
    "mailto": (0.005, 0.01),
    "double_at": (0.005, 0.01),
    "at_word": (0.005, 0.01),
    "display_name": (0.01, 0.02),
    "domain_typo": (0.01, 0.03),
    "trailing_punctuation": (0.005, 0.01),
    "role_address": (0.02, 0.03),
    "plus_tag": (0.005, 0.04),
    "gmail_dots": (0.0, 0.05),
    "domain_variant": (0.0, 0.04),
}


@dataclass(frozen=True)
class Emails:
    """E-mail addresses split at the "@" (lower case, as the mailbox owner writes them)."""

    local: Strings
    domain: Strings

    def take(self, rows: np.ndarray) -> Emails:
        return Emails(self.local[rows], self.domain[rows])

    def where(self, use_other: np.ndarray, other: Emails) -> Emails:
        return Emails(
            np.where(use_other, other.local, self.local), np.where(use_other, other.domain, self.domain)
        )

    def address(self) -> Strings:
        return self.local + "@" + self.domain


def _locals(
    patterns: tuple[tuple[str, float], ...],
    given: np.ndarray,
    family: np.ndarray,
    pools: Pools,
    rng: np.random.Generator,
) -> Strings:
    which = weighted_choice(rng, [w for _, w in patterns], len(given))
    out = nones(len(given))
    for p, (template, _) in enumerate(patterns):
        rows = np.flatnonzero(which == p)
        fields = {"f": pools.given.slug[given[rows]], "l": pools.family.slug[family[rows]]}
        if "{i}" in template:
            fields["i"] = pools.given.initial[given[rows]]
        if "{j}" in template:
            fields["j"] = pools.family.initial[family[rows]]
        if "{n}" in template:
            # Two digits or a birth year, as people pick when their name is taken.
            year = rng.random(len(rows)) < 0.5
            fields["n"] = choose(
                year,
                digits(rng.integers(1960, 2004, len(rows)), 4),
                digits(rng.integers(1, 100, len(rows)), 2),
            )
        out[rows] = fill(template, len(rows), **fields)
    return out


def work_emails(
    given: np.ndarray, family: np.ndarray, domain: Strings, pools: Pools, rng: np.random.Generator
) -> Emails:
    return Emails(_locals(WORK_PATTERNS, given, family, pools, rng), domain.copy())


def free_emails(
    given: np.ndarray, family: np.ndarray, country: np.ndarray, pools: Pools, rng: np.random.Generator
) -> Emails:
    domain = nones(len(given))
    for c, code in enumerate(COUNTRIES):
        rows = np.flatnonzero(country == c)
        options = FREE_MAIL[code]
        domain[rows] = strings([d for d, _ in options])[
            weighted_choice(rng, [w for _, w in options], len(rows))
        ]
    return Emails(_locals(FREE_PATTERNS, given, family, pools, rng), domain)


def make_unique(emails: Emails, first: int = 0) -> Emails:
    """Number clashing addresses ("john.smith2@...") so that no two people share one.

    The first `first` addresses are known to be unique already and keep their numbers.
    """
    local = emails.local.copy()
    domain_code, domains = pd.factorize(emails.domain)
    for _ in range(10):
        # Integer keys instead of joined strings: the same test, a fraction of the memory.
        local_code, _ = pd.factorize(local)
        key = pd.Series(local_code.astype(np.int64) * (len(domains) + 1) + domain_code)
        taken = key.duplicated(keep="first").to_numpy()
        taken[:first] = False
        if not taken.any():
            break
        rank = key.groupby(key, sort=False).cumcount().to_numpy() + 2
        local[taken] = local[taken] + rank[taken].astype(str).astype(object)
    return Emails(local, emails.domain)


def render_emails(
    shown: Emails, true: Strings, display_name: Strings, alt_domain: Strings, batch: RecordBatch
) -> Strings:
    """Stored e-mail values: `shown` is the address the record holds (an old one for stale records).

    `alt_domain` is another domain of the employer (None for free-mail addresses).
    """
    rng = batch.rng
    kinds = batch.mess(EMAIL_MESS)
    local, domain = shown.local.copy(), shown.domain.copy()
    is_gmail = domain == "gmail.com"
    kinds[(kinds == "gmail_dots") & ~is_gmail] = None
    kinds[(kinds == "domain_variant") & isnone(alt_domain)] = None
    kinds[(kinds == "display_name") & isnone(display_name)] = None

    # Variants that still reach the same mailbox.
    rows = np.flatnonzero(kinds == "gmail_dots")
    dotted = str_method(local[rows], "contains", ".", regex=False).astype(bool)
    local[rows] = np.where(
        dotted,
        str_method(local[rows], "replace", ".", "", regex=False),
        str_method(local[rows], "slice", 0, 1) + "." + str_method(local[rows], "slice", 1),
    )
    rows = kinds == "plus_tag"
    local[rows] = local[rows] + "+" + strings(PLUS_TAGS)[rng.integers(0, len(PLUS_TAGS), int(rows.sum()))]
    rows = kinds == "domain_variant"
    domain[rows] = alt_domain[rows]
    rows = kinds == "domain_typo"
    domain[rows] = typos(domain[rows], rng)
    rows = kinds == "role_address"
    local[rows] = strings(ROLE_ADDRESSES)[rng.integers(0, len(ROLE_ADDRESSES), int(rows.sum()))]

    stored = local + "@" + domain
    rows = kinds == "case"
    half = rows & (rng.random(len(stored)) < 0.5)
    stored[half] = str_method(stored[half], "upper")
    stored[rows & ~half] = str_method(stored[rows & ~half], "title")
    rows = kinds == "whitespace"
    stored[rows] = whitespace(stored[rows], rng)
    rows = kinds == "mailto"
    stored[rows] = " mailto:" + str_method(stored[rows], "upper") + " "
    rows = kinds == "double_at"
    stored[rows] = local[rows] + "@@" + domain[rows]
    rows = kinds == "at_word"
    spelled = rows & (rng.random(len(stored)) < 0.4)
    stored[rows] = local[rows] + " at " + domain[rows]
    stored[spelled] = (
        local[spelled] + " at " + str_method(domain[spelled], "replace", ".", " dot ", regex=False)
    )
    rows = kinds == "display_name"
    stored[rows] = display_name[rows] + " <" + stored[rows] + ">"
    rows = kinds == "trailing_punctuation"
    marks = strings([".", ";", ",", ">"])
    stored[rows] = stored[rows] + marks[rng.integers(0, len(marks), int(rows.sum()))]
    stored[kinds == "missing"] = None

    stale = (shown.address() != true) & (kinds != "missing")
    kinds[stale] = "stale_employer"
    batch.record("email", true, stored, kinds, default_kind="case")
    return stored
