"""E-mail addresses: cleaned, checked for syntax (never for deliverability), and keyed for matching.

`normalize_emails(values)` returns the base columns (see `base.py`) plus:

- `domain`, `local`: the two halves of the canonical address;
- `is_free`: the domain is a free-mail provider (`data/emails_free_providers.txt`);
- `is_disposable`: the domain (or a parent domain) is on the `disposable-email-domains` list;
- `is_role`: the mailbox is a role or team address (info@, sales@, noreply@ ...), not a person;
- `match_key`: one key per mailbox for matching: lower case; for Gmail dots removed and
  "+tag" dropped (googlemail.com counts as gmail.com); "+tag" dropped at providers known to
  deliver sub-addresses to the main mailbox (Outlook/Hotmail/Live, Fastmail, iCloud, Proton),
  "-tag" at Yahoo; otherwise the address itself.

The canonical `value` is the whole address in lower case. Only the domain is case-insensitive
by standard, but virtually every mail system treats the local part the same way and so does
widespread CRM practice, and one spelling per mailbox is what deduplication needs.
Display names, "mailto:", stray blanks and punctuation come off with high confidence;
"john at acme.com" (`email_at_word`) and "john@@acme.com" (`email_double_at`) are guesses
and say so with a low one. Syntax is checked by email-validator without any DNS lookup.

`normalize_email` is the reference for one value. `normalize_emails` gives the same results,
but large columns take a fast path: addresses that are plain already (ASCII dot-atom, nothing
to strip) only need lower-casing and a domain check, so email-validator runs once per distinct
domain for them instead of once per distinct address; everything else goes through
`normalize_email` as usual.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from email_validator import EmailNotValidError, validate_email

from crm_hygiene.normalize.base import (
    BASE_COLUMNS,
    MAX_PARSE_CHARS,
    Result,
    changed,
    invalid,
    per_distinct,
)
from crm_hygiene.normalize.workers import map_values

EXTRA_COLUMNS: tuple[str, ...] = ("domain", "local", "is_free", "is_disposable", "is_role", "match_key")
COLUMNS: tuple[str, ...] = (*BASE_COLUMNS, *EXTRA_COLUMNS)

FREE_PROVIDERS_FILE = Path(__file__).parent / "data" / "emails_free_providers.txt"

# Compared with separators removed, so "no-reply", "no_reply" and "noreply" are one entry.
ROLE_LOCAL_PARTS: frozenset[str] = frozenset({
    "abuse", "accounting", "accounts", "admin", "administrator", "alerts", "all", "billing",
    "bookings", "bounce", "bounces", "business", "buero", "bureau", "careers", "compliance",
    "contact", "contacto", "contato", "contacts", "customercare", "customerservice",
    "customersupport", "dev", "donotreply", "email", "empfang", "enquiries", "enquiry", "events",
    "everyone", "feedback", "finance", "general", "hello", "help", "helpdesk", "hostmaster", "hr",
    "info", "information", "inquiries", "inquiry", "invoice", "invoices", "it", "jobs", "kontakt",
    "legal", "list", "mail", "mailerdaemon", "management", "marketing", "media", "news",
    "newsletter", "noreply", "notifications", "office", "operations", "ops", "orders", "partners",
    "partnerships", "payments", "postmaster", "pr", "press", "privacy", "procurement",
    "purchasing", "reception", "recruiting", "recruitment", "reservations", "root", "sales",
    "secretariat", "security", "service", "services", "shop", "staff", "store", "support", "team",
    "tech", "techsupport", "ventas", "verkauf", "vertrieb", "webmaster", "welcome"
})  # fmt: skip
_ROLE_SEPARATORS = re.compile(r"[-_.]")

# Rules, from most to least certain; a value changed by several reports the least certain one.
TRIM = ("email_trim", 0.99)
MAILTO = ("email_mailto", 0.98)
LOWERCASE = ("email_lowercase", 0.98)
DISPLAY_NAME = ("email_display_name", 0.97)
SYNTAX = ("email_syntax", 0.95)  # Unicode normalization of the domain, IDNA decoding
PUNCTUATION = ("email_punctuation", 0.9)
DOUBLE_AT = ("email_double_at", 0.7)
AT_WORD = ("email_at_word", 0.6)

_CONTROL = re.compile("[\x00-\x1f\x7f]")
_SPACE = re.compile(r"\s")
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060\ufeff]")
_ANGLE = re.compile(r"<\s*([^<>]*?)\s*>")
_MAILTO = re.compile(r"^mailto:\s*", re.IGNORECASE)
_LEADING = "\"'(<[{"
_TRAILING = "\"'.,;:!?)>]}"
_AROUND_AT = re.compile(r"\s*@\s*")
_AT_WORD = re.compile(r"\s*[\[({]\s*at\s*[\])}]\s*|\s+at\s+", re.IGNORECASE)
_DOT_WORD = re.compile(r"\s*[\[({]\s*dot\s*[\])}]\s*|\s+dot\s+", re.IGNORECASE)
_SEPARATED = re.compile(r"[,;/\s|]")

_HOTMAIL = re.compile(
    r"^(?:hotmail|outlook|live|msn|windowslive|passport)\.(?:com|[a-z]{2}|co\.[a-z]{2}|com\.[a-z]{2})$"
)
# Yahoo Japan is a separate company with its own rules, so it is left out.
_YAHOO = re.compile(r"^(?:yahoo\.(?:com|[a-z]{2}|co\.[a-z]{2}|com\.[a-z]{2})|ymail\.com|rocketmail\.com)$")
_PLUS_PROVIDERS: frozenset[str] = frozenset({
    "fastmail.com", "fastmail.fm", "icloud.com", "me.com", "mac.com", "proton.me",
    "protonmail.com", "protonmail.ch", "pm.me"
})  # fmt: skip


# Why a fast path: `normalize_email` costs tens of microseconds per distinct address, mostly in
# email-validator, and a CRM of a million contacts holds most of a million distinct addresses.
# But most stored addresses are plain already ("John.Smith@Acme.com": an ASCII dot-atom local
# part, one @, a host name, at most blanks around them). For those, `normalize_email` only trims,
# lower-cases and validates; and validating such a local part is the same dot-atom match, so
# only the domain needs email-validator, once per distinct domain, of which a CRM has far
# fewer. `_plain_addresses` does exactly that, on the whole column at once. The pattern (RE2
# syntax for Arrow, applied to lower-cased ASCII text) is deliberately narrower than the
# standard, leaving out quoting, the rare symbols "!#$%&*/=?^`{|}~" and an apostrophe first
# (the one character of the pattern that decoration stripping would remove): whatever it does
# not match takes the per-value path, as do domains that are invalid or that email-validator
# rewrites (Punycode), so the results are the same row for row.
_PLAIN_RE2 = (
    r"^[ \t\r\n]*"
    r"(?P<address>(?P<local>[a-z0-9_+-][a-z0-9_+'-]*(?:\.[a-z0-9_+'-]+)*)@(?P<domain>[a-z0-9-]+(?:\.[a-z0-9-]+)+))"
    r"[ \t\r\n]*$"
)
_BLANKS = " \t\r\n"
# RFC 5321 limits. email-validator checks the local part's only in strict mode, the fast path
# always: a longer local part takes the per-value path, as does a too long address (to be told so).
_PLAIN_MAX_LOCAL = 64
_PLAIN_MAX_ADDRESS = 254
# With fewer distinct inputs than this, the fast path's fixed cost is not worth paying (it breaks
# even at a few hundred distinct addresses).
FAST_PATH_MIN_DISTINCT = 500


def normalize_emails(values: pd.Series) -> pd.DataFrame:
    """Canonical e-mail addresses (lower case, decoration removed), aligned to `values`' index.

    The same results as `per_distinct(values, normalize_email, COLUMNS)`; large columns take
    the fast path for plain addresses (see `_plain_addresses`).
    """
    codes, distinct = pd.factorize(values.to_numpy(dtype=object))
    if len(distinct) < FAST_PATH_MIN_DISTINCT:
        return per_distinct(values, normalize_email, COLUMNS)
    plain = _plain_addresses(distinct)
    # The row of `plain` for each row of `values`, -1 for the rest (the extra last entry
    # is for missing values, whose code is -1).
    plain_row = np.full(len(distinct) + 1, -1)
    plain_row[plain.index] = np.arange(len(plain))
    rows = plain_row[codes]
    fast = rows >= 0
    slow = per_distinct(values[~fast], normalize_email, COLUMNS)
    merged = np.empty((len(values), len(COLUMNS)), dtype=object)  # by position: labels may repeat
    merged[fast] = plain.to_numpy(dtype=object)[rows[fast]]
    merged[~fast] = slow.to_numpy(dtype=object)
    out = pd.DataFrame(merged, index=values.index, columns=list(COLUMNS))
    return out.assign(confidence=out["confidence"].astype(float))


def normalize_email(text: str) -> Result:
    """One e-mail address; repairs that guess ("john at acme.com") get a low confidence."""
    steps: list[tuple[str, float]] = []
    address, problem = _undecorate(text, steps)
    if problem:
        return invalid(problem, EXTRA_COLUMNS)

    if address.count("@") == 0:
        return invalid("no @", EXTRA_COLUMNS)
    if address.count("@") > 1:
        parts = [part for part in _SEPARATED.split(address) if re.fullmatch(r"[^@]+@[^@]+", part)]
        return invalid("several addresses" if len(parts) > 1 else "more than one @", EXTRA_COLUMNS)
    if _SPACE.search(address):
        return invalid("contains spaces", EXTRA_COLUMNS)

    canonical, problem = _canonical(address)
    if problem:
        return invalid(problem, EXTRA_COLUMNS)
    assert canonical is not None
    if canonical != address:
        steps.append(LOWERCASE if canonical == address.lower() else SYNTAX)
    rule, confidence = min(steps, key=lambda step: step[1]) if steps else SYNTAX
    local, domain = canonical.rsplit("@", 1)
    return changed(
        text,
        canonical,
        rule,
        confidence,
        domain=domain,
        local=local,
        is_free=domain in free_providers(),
        is_disposable=_is_disposable(domain),
        is_role=_is_role(local),
        match_key=match_key(local, domain),
    )


def match_key(local: str, domain: str) -> str:
    """The mailbox an address delivers to, as far as the provider's addressing rules tell."""
    rule = _mailbox_rule(domain)
    if rule == "gmail":
        return f"{_untagged(local, '+').replace('.', '') or local}@gmail.com"
    if rule is not None:
        return f"{_untagged(local, rule)}@{domain}"
    return f"{local}@{domain}"


def _mailbox_rule(domain: str) -> str | None:
    """What the provider at `domain` ignores in the local part, None if nothing is known.

    "gmail": dots and a "+tag" (and googlemail.com is gmail.com); "+" or "-": a tag after it.
    """
    if domain in ("gmail.com", "googlemail.com"):
        return "gmail"
    if domain in _PLUS_PROVIDERS or _HOTMAIL.match(domain):
        return "+"
    if _YAHOO.match(domain):
        return "-"
    return None


@cache
def free_providers() -> frozenset[str]:
    """Free-mail domains from the project's list (read on first use)."""
    lines = FREE_PROVIDERS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


@cache
def _disposable_domains() -> frozenset[str]:
    # Imported on first use: the list is ten thousand literals, not worth loading with the module.
    from disposable_email_domains import blocklist

    return frozenset(blocklist)


def _undecorate(text: str, steps: list[tuple[str, float]]) -> tuple[str, str | None]:
    """The bare address inside `text`, recording each repair in `steps`; or a reason it has none."""
    address = _INVISIBLE.sub("", text).strip()
    if address != text:
        steps.append(TRIM)
    if _CONTROL.search(address):
        return address, "contains control characters"

    inside = list(dict.fromkeys(found for found in _ANGLE.findall(address) if "@" in found))
    if len(inside) > 1:
        return address, "several addresses"
    if inside:
        address = inside[0]
        steps.append(DISPLAY_NAME)

    unprefixed = _MAILTO.sub("", address)
    if unprefixed != address:
        # A mailto: link may carry "?subject=..." after the address.
        address = unprefixed.split("?", 1)[0].strip()
        steps.append(MAILTO)

    stripped = address.lstrip(_LEADING).rstrip(_TRAILING).strip()
    while stripped != address:
        address, stripped = stripped, stripped.lstrip(_LEADING).rstrip(_TRAILING).strip()
        steps.append(PUNCTUATION)

    spaced = _AROUND_AT.sub("@", address)
    if spaced != address:
        address = spaced
        steps.append(TRIM)

    if "@" not in address and len(_AT_WORD.findall(address)) == 1:
        address = _AT_WORD.sub("@", address)
        steps.append(AT_WORD)
    if "@" in address and _DOT_WORD.search(address.rsplit("@", 1)[1]):
        local, domain = address.rsplit("@", 1)
        address = f"{local}@{_DOT_WORD.sub('.', domain)}"
        steps.append(AT_WORD)

    collapsed = re.sub("@{2,}", "@", address)
    if collapsed != address:
        address = collapsed
        steps.append(DOUBLE_AT)
    return address, None


def _canonical(address: str) -> tuple[str | None, str | None]:
    """The validated lower-case address, or a reason it is not valid."""
    try:
        # Lower-casing can leave text that validation normalizes again (and the reverse), so
        # both run until nothing changes; two rounds are enough for any input seen.
        canonical = address.lower()
        for _ in range(3):
            again = validate_email(canonical, check_deliverability=False).normalized.lower()
            if again == canonical:
                break
            canonical = again
    except EmailNotValidError as error:
        return None, _reason(address, str(error))
    # Internationalized mailboxes allow any letter, but a pictograph is pasted junk, not a name.
    local = canonical.rsplit("@", 1)[0]
    if not local.isascii() and any(ord(ch) > 127 and unicodedata.category(ch)[0] in "SCZ" for ch in local):
        return None, "invalid local part"
    return canonical, None


def _reason(address: str, message: str) -> str:
    if "too long" in message:
        return "too long"
    if "special-use or reserved" in message:
        return "reserved domain"
    if "after the @-sign" in message:
        return "invalid domain"
    if "before the @-sign" in message:
        return "invalid local part"
    # Messages such as "two periods in a row" do not say which half they mean.
    domain = address.rsplit("@", 1)[1]
    try:
        validate_email(f"x@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return "invalid domain"
    return "invalid local part"


def _domain_unchanged(domain: str) -> bool:
    """Whether the domain is valid and already written the canonical way."""
    return _canonical(f"x@{domain}")[0] == f"x@{domain}"


def _plain_addresses(distinct: np.ndarray) -> pd.DataFrame:
    """`normalize_email`'s results for the plain addresses among `distinct` inputs.

    Indexed by position in `distinct`; the other inputs are left out. A plain address matches
    `_PLAIN_RE2` when lower-cased, is within the length limits, and its domain passes `_canonical`
    unchanged. Its value is the address in lower case, with the rule `email_lowercase` if that
    changed it, else `email_trim` if blanks came off; the flags and the match key come from the
    same functions `normalize_email` uses, called once per distinct domain or local part where
    they depend on one only.
    """
    position = np.flatnonzero([isinstance(text, str) and text.isascii() for text in distinct])
    text = pa.array(distinct[position], type=pa.string())
    parts = pc.extract_regex(pc.ascii_lower(text), _PLAIN_RE2)  # null where it does not match
    fits = pc.and_(
        pc.and_(
            pc.less_equal(pc.utf8_length(text), MAX_PARSE_CHARS),  # longer: not parsed at all
            pc.less_equal(pc.utf8_length(pc.struct_field(parts, "address")), _PLAIN_MAX_ADDRESS),
        ),
        pc.less_equal(pc.utf8_length(pc.struct_field(parts, "local")), _PLAIN_MAX_LOCAL),
    )
    keep = pc.fill_null(fits, False)
    position, text, parts = (
        position[keep.to_numpy(zero_copy_only=False)],
        text.filter(keep),
        parts.filter(keep),
    )

    # Any local part will do: the address is valid exactly when its domain is (lengths aside).
    domain_code, domains = _codes(pc.struct_field(parts, "domain"))
    # Tens of thousands of distinct domains in a large CRM: checked on the worker pool when open.
    domain_ok = np.array(map_values(_domain_unchanged, [(domain,) for domain in domains]), dtype=bool)
    keep = domain_ok[domain_code]
    position, text, parts, domain_code = (
        position[keep],
        text.filter(keep),
        parts.filter(keep),
        domain_code[keep],
    )
    local_code, locals_ = _codes(pc.struct_field(parts, "local"))

    def per_domain(flag: Callable[[str], bool]) -> np.ndarray:
        return np.array([flag(domain) for domain in domains], dtype=bool)[domain_code]

    address = pc.struct_field(parts, "address")
    trimmed = pc.utf8_trim(text, _BLANKS)
    lowered = pc.not_equal(trimmed, address).to_numpy(zero_copy_only=False)
    untrimmed = pc.equal(text, trimmed).to_numpy(zero_copy_only=False)
    rule = np.where(lowered, LOWERCASE[0], np.where(untrimmed, None, TRIM[0]))
    confidence = np.where(lowered, LOWERCASE[1], np.where(untrimmed, 1.0, TRIM[1]))

    value = address.to_numpy(zero_copy_only=False)
    domain = np.asarray(domains, dtype=object)[domain_code]
    local = np.asarray(locals_, dtype=object)[local_code]
    # The match key is the address itself, unless the provider has addressing rules.
    key = value.copy()
    ruled = per_domain(lambda domain: _mailbox_rule(domain) is not None)
    key[ruled] = [match_key(*halves) for halves in zip(local[ruled], domain[ruled], strict=True)]
    return pd.DataFrame(
        {
            "value": value,
            "valid": np.full(len(position), True, dtype=object),
            "reason": np.full(len(position), None, dtype=object),
            "rule": rule,
            "confidence": confidence,
            "domain": domain,
            "local": local,
            # Object arrays of Python bools, as `normalize_email` gives.
            "is_free": per_domain(free_providers().__contains__).astype(object),
            "is_disposable": per_domain(_is_disposable).astype(object),
            "is_role": np.array([_is_role(name) for name in locals_], dtype=bool)[local_code].astype(object),
            "match_key": key,
        },
        index=pd.Index(position, dtype=np.intp),
    )


def _codes(strings: pa.Array) -> tuple[np.ndarray, list[str]]:
    """Each string's position in the list of distinct strings, and that list."""
    encoded = strings.dictionary_encode()
    return encoded.indices.to_numpy(zero_copy_only=False), encoded.dictionary.to_pylist()


def _untagged(local: str, separator: str) -> str:
    base = local.split(separator, 1)[0]
    return base or local


def _is_role(local: str) -> bool:
    return _ROLE_SEPARATORS.sub("", _untagged(local, "+")) in ROLE_LOCAL_PARTS


def _is_disposable(domain: str) -> bool:
    labels = domain.split(".")
    blocked = _disposable_domains()
    return any(".".join(labels[i:]) in blocked for i in range(len(labels) - 1))
