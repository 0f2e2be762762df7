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
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

import pandas as pd
from email_validator import EmailNotValidError, validate_email

from crm_hygiene.normalize.base import BASE_COLUMNS, Result, changed, invalid, per_distinct

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


def normalize_emails(values: pd.Series) -> pd.DataFrame:
    """Canonical e-mail addresses (lower case, decoration removed), aligned to `values`' index."""
    return per_distinct(values, normalize_email, COLUMNS)


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
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain == "gmail.com":
        local = _untagged(local, "+").replace(".", "") or local
    elif domain in _PLUS_PROVIDERS or _HOTMAIL.match(domain):
        local = _untagged(local, "+")
    elif _YAHOO.match(domain):
        local = _untagged(local, "-")
    return f"{local}@{domain}"


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


def _untagged(local: str, separator: str) -> str:
    base = local.split(separator, 1)[0]
    return base or local


def _is_role(local: str) -> bool:
    return re.sub(r"[-_.]", "", _untagged(local, "+")) in ROLE_LOCAL_PARTS


def _is_disposable(domain: str) -> bool:
    labels = domain.split(".")
    blocked = _disposable_domains()
    return any(".".join(labels[i:]) in blocked for i in range(len(labels) - 1))
