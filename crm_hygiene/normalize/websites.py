"""Websites: the registrable domain behind whatever was typed into a website field.

`normalize_websites(values)` keeps the contract of `normalize.base` and adds:

- `domain`: the registrable domain, lower case, public-suffix aware ("acme.co.uk"); also `value`;
- `subdomain`: what came before it ("www", "shop.eu"), "" when nothing did;
- `suffix`: the public suffix ("co.uk", "com").

"https://www.acme.co.uk/about?x=1", "WWW.ACME.CO.UK" and "acme.co.uk." all give "acme.co.uk":
scheme, user, port, path, query, fragment, "www" and the trailing dot go. Other subdomains
("shop.acme.com") go too, with a lower confidence.

Public suffixes come from the Public Suffix List snapshot bundled with tldextract; nothing is
fetched and nothing is cached on disk. Private suffixes count ("acme.github.io" stays
"acme.github.io", not the shared "github.io"), since the registrable domain stands for one company.

Internationalized domains are written in Unicode ("bücher.de"), as people read them; the
punycode form ("xn--bcher-kva.de") of the same domain gives the same value.

Invalid, with a reason: IP addresses, hosts without a public suffix ("localhost", "intranet"),
placeholders ("N/A", "none"), formulas, schemes other than http(s), malformed host names. An
e-mail address typed into the field is not a website, but its domain usually is the company's:
it is used with confidence 0.5 (rule `email_domain`), unless it is a free-mail domain given in
`free_domains`, which makes it invalid.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from functools import cache, partial
from typing import Any

import pandas as pd
import tldextract

from crm_hygiene.normalize.base import changed, invalid, per_distinct

EXTRA_COLUMNS: tuple[str, ...] = ("domain", "subdomain", "suffix")
COLUMNS: tuple[str, ...] = ("value", "valid", "reason", "rule", "confidence", *EXTRA_COLUMNS)

CONFIDENCE = {"domain": 0.99, "subdomain": 0.9, "email_domain": 0.5}

_PLACEHOLDERS = frozenset({
    "n/a", "na", "n.a.", "none", "null", "nil", "-", "--", "?", "unknown", "tbd", "test", "yes", "no", "y", "n",
    "true", "false", "0", "x", "xxx", "website", "www", "www.", "http", "https", "http://", "https://",
    "http://www.", "https://www.",
})  # fmt: skip
_SCHEME = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.\-]*):(?P<slashes>/*)", re.IGNORECASE)
_MISSING_COLON = re.compile(r"^(https?)//", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s/:]+@(?P<host>[^@\s/]+)$")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_WWW = re.compile(r"^www\d*$")
_EDGES = "<>\"'`()[]{} ,;"
_DOTS = re.compile("[\u3002\uff0e\uff61]")  # ideographic and full-width full stops


class NotADomain(ValueError):
    """The text names no registrable domain; the message says why."""


def normalize_websites(values: pd.Series, *, free_domains: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Registrable domains of typed websites, once per distinct value.

    `free_domains`: free-mail domains ("gmail.com"); an e-mail address at one of them is invalid.
    """
    free = _lower_set(free_domains)
    return per_distinct(values, partial(_normalize_one, free=free), COLUMNS)


def domain_from_email(emails: pd.Series, *, free_domains: frozenset[str]) -> pd.Series:
    """The registrable domain of each work e-mail address; None for free-mail, missing or malformed ones.

    Split at the last "@" over the whole column; the domain is then read once per distinct
    host (a million addresses share a few tens of thousands of hosts).
    """
    free = _lower_set(free_domains)
    text = emails.astype(object).where(emails.notna(), None)
    split = text.str.rpartition("@")
    if not isinstance(split, pd.DataFrame) or split.shape[1] != 3:  # no text at all
        return pd.Series([None] * len(emails), index=emails.index, dtype=object, name="domain")
    local = split[0].str.strip().str.strip(_EDGES)
    host = split[2].where(split[1].eq("@") & local.str.len().gt(0), None)
    found = per_distinct(
        host, partial(_host_domain, free=free), ("value", "valid", "reason", "rule", "confidence")
    )
    return found["value"].rename("domain")


def _host_domain(host: str, free: frozenset[str]) -> dict[str, Any]:
    host = _clean(host)
    try:
        domain, _, _ = registrable_domain(host)
    except NotADomain as exc:
        return invalid(str(exc))
    if domain in free or _ascii(host) in free or host.lower() in free:
        return invalid("free-mail domain")
    return changed(host, domain, "email_domain", 1.0)


def registrable_domain(host: str) -> tuple[str, str, str]:
    """(registrable domain, subdomain, suffix) of a host name, in Unicode; raises NotADomain."""
    host = _DOTS.sub(".", host).strip().rstrip(".")
    if not host:
        raise NotADomain("no host name")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        raise NotADomain(f"an IP address, not a domain: {_short(host)}")
    labels = [_label(label) for label in host.split(".")]
    parts = _extractor()(".".join(labels))
    if not parts.suffix:
        raise NotADomain(f"no public suffix: {_short(host)}")
    if not parts.domain:
        raise NotADomain(f"a public suffix, not a domain: {_short(host)}")
    return f"{parts.domain}.{parts.suffix}", parts.subdomain, parts.suffix


def _normalize_one(text: str, free: frozenset[str]) -> dict[str, Any]:
    cleaned = _clean(text)
    if not cleaned or cleaned.casefold() in _PLACEHOLDERS:
        return invalid(f"placeholder {text.strip()!r}", EXTRA_COLUMNS)
    if cleaned.startswith(("=", "+", "@")) or (cleaned.startswith("-") and "(" in cleaned):
        return invalid("looks like a spreadsheet formula", EXTRA_COLUMNS)
    try:
        host, email = _host(cleaned)
        domain, subdomain, suffix = registrable_domain(host)
    except NotADomain as exc:
        return invalid(str(exc), EXTRA_COLUMNS)
    if email:
        if domain in free or host.lower() in free:
            return invalid("an e-mail address at a free-mail domain, not a website", EXTRA_COLUMNS)
        rule = "email_domain"
    else:
        rule = "domain" if not subdomain or _WWW.match(subdomain) else "subdomain"
    return changed(text, domain, rule, CONFIDENCE[rule], domain=domain, subdomain=subdomain, suffix=suffix)


def _clean(text: str) -> str:
    """The text without control and format characters, blanks and wrapping quotes or brackets."""
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return kept.strip().strip(_EDGES).strip()


def _host(text: str) -> tuple[str, bool]:
    """(host name, typed as an e-mail address) of a URL, bare host or e-mail address."""
    email = _EMAIL.match(text.removeprefix("mailto:").removeprefix("MAILTO:"))
    if email:
        return email.group("host"), True
    rest = _MISSING_COLON.sub(r"\1://", text)
    scheme = _SCHEME.match(rest)
    if scheme and (scheme.group("slashes") or scheme.group("scheme").lower() in _OTHER_SCHEMES):
        if scheme.group("scheme").lower() not in ("http", "https"):
            raise NotADomain(f"not a web address ({scheme.group('scheme')}:)")
        rest = rest[scheme.end() :]
    rest = rest.lstrip("/")
    host = re.split(r"[/?#\\]", rest, maxsplit=1)[0]
    host = host.rpartition("@")[2]  # user:password@
    if host.startswith("["):
        host = host[: host.find("]") + 1] if "]" in host else host
    elif host.count(":") == 1:
        host, _, port = host.partition(":")
        if port and not port.isdigit():
            raise NotADomain(f"not a port: {port}")
    if any(ch.isspace() for ch in host):
        raise NotADomain("blanks inside the host name")
    return host, False


_OTHER_SCHEMES = frozenset({"ftp", "sftp", "file", "javascript", "data", "tel", "mailto", "ssh", "git"})


def _label(label: str) -> str:
    """One host label in Unicode (punycode decoded), checked against the host name rules."""
    if not label:
        raise NotADomain("an empty label (two dots in a row)")
    if not all(ch == "-" or unicodedata.category(ch)[0] in "LNM" for ch in label):
        raise NotADomain(f"not a host name label: {_short(label)!r}")
    try:
        ascii_label = label.encode("idna").decode("ascii") if not label.isascii() else label.lower()
        if not _LABEL.match(ascii_label):
            raise NotADomain(f"not a host name label: {_short(label)!r}")
        return ascii_label.encode("ascii").decode("idna")
    except UnicodeError as exc:
        raise NotADomain(f"not a host name label: {_short(label)!r}") from exc


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def _ascii(host: str) -> str:
    try:
        return host.strip().rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        return host.lower()


def _lower_set(domains: frozenset[str]) -> frozenset[str]:
    return frozenset(d.strip().lower().rstrip(".") for d in domains)


@cache
def _extractor() -> tldextract.TLDExtract:
    # The bundled snapshot only: no download (suffix_list_urls=()), no cache files (cache_dir=None).
    return tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True, include_psl_private_domains=True
    )
