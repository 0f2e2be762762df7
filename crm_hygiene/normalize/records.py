"""Normalize whole snapshot tables: every field family, in dependency order, as one frame.

The record's country is normalized first because phones, regions and postcodes read it.
The output keeps each record's id, tenant and version, and per normalized field `f`:
`f` (canonical value, None when invalid), `f_valid`, `f_reason`, plus match keys and parts.
The snapshot itself is never modified: proposals carry the stored value as `old_value`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd
import phonenumbers
import pycountry

from crm_hygiene.model import Entity
from crm_hygiene.model.snapshot import UNKEYED_PATTERN
from crm_hygiene.normalize.addresses import normalize_cities, normalize_postcodes, street_keys
from crm_hygiene.normalize.companies import normalize_company_names
from crm_hygiene.normalize.countries import normalize_countries
from crm_hygiene.normalize.dates import normalize_timestamps
from crm_hygiene.normalize.emails import free_providers, normalize_emails
from crm_hygiene.normalize.names import normalize_person_names
from crm_hygiene.normalize.phones import normalize_phones
from crm_hygiene.normalize.proposals import PROPOSAL_COLUMNS, field_proposals
from crm_hygiene.normalize.regions import normalize_regions
from crm_hygiene.normalize.titles import normalize_titles
from crm_hygiene.normalize.websites import domain_from_email, normalize_websites

KEY_COLUMNS = ("id", "tenant", "version", "status")
_PLACE = ("country", "phone", "region", "postcode", "city")
# The snapshot columns each entity's normalization reads; the others need not be loaded.
INPUT_COLUMNS: dict[Entity, tuple[str, ...]] = {
    Entity.CONTACT: (
        *KEY_COLUMNS, *_PLACE, "first_name", "last_name", "email", "title", "company_name",
        "company_id", "last_activity_at", "raw_values",
    ),
    Entity.COMPANY: (*KEY_COLUMNS, *_PLACE, "name", "website"),
    Entity.EMPLOYMENT: (
        *KEY_COLUMNS, "contact_id", "company_id", "reports_to", "title", "valid_from", "valid_to", "raw_values",
    ),
}  # fmt: skip


@dataclass
class NormalizedTable:
    """One entity's normalized frame and the fields it normalized."""

    entity: Entity
    frame: pd.DataFrame
    fields: list[str] = field(default_factory=list)

    def proposals(self, tenant: str, snapshot: pd.DataFrame) -> pd.DataFrame:
        return standardization_proposals(tenant, self.entity, snapshot, self.frame)

    def rule_counts(self) -> dict[str, int]:
        return rule_counts(self.frame)

    def validity(self) -> dict[str, float]:
        return validity_rates(self.frame)


def normalized_fields(frame: pd.DataFrame) -> list[str]:
    """The fields a normalized frame holds (each has `f`, `f_valid`, `f_reason`, `f_rule`, `f_confidence`)."""
    return [
        c[: -len("_rule")]
        for c in frame.columns
        if c.endswith("_rule") and f"{c[: -len('_rule')]}_valid" in frame
    ]


def standardization_proposals(
    tenant: str, entity: Entity, snapshot: pd.DataFrame, frame: pd.DataFrame
) -> pd.DataFrame:
    """Every change normalization would make to the stored values, one row per field and record."""
    snapshot = snapshot.set_index("id", drop=False)
    aligned = frame.set_index("id", drop=False)
    parts = []
    for name in normalized_fields(frame):
        result = pd.DataFrame(
            {
                "value": aligned[name],
                "valid": aligned[f"{name}_valid"],
                "rule": aligned[f"{name}_rule"],
                "confidence": aligned[f"{name}_confidence"],
            }
        )
        # Timestamps are typed in the snapshot: the text as stored and as it would be written.
        if f"{name}_stored" in aligned:
            result["value"] = aligned[f"{name}_written"]
        old = aligned.get(f"{name}_stored", None)
        part = field_proposals(tenant, entity.value, snapshot, name, result, old_values=old)
        if not part.empty:
            parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(PROPOSAL_COLUMNS))


def rule_counts(frame: pd.DataFrame) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in normalized_fields(frame):
        for rule, n in frame[f"{name}_rule"].dropna().value_counts().items():
            counts[str(rule)] = counts.get(str(rule), 0) + int(n)
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def validity_rates(frame: pd.DataFrame) -> dict[str, float]:
    """Share of present values that are valid, per field."""
    out: dict[str, float] = {}
    for name in normalized_fields(frame):
        valid = frame[f"{name}_valid"]
        if valid.notna().any():
            out[name] = round(float(valid.dropna().astype(bool).mean()), 4)
    return out


def _add(
    frame: pd.DataFrame,
    results: dict[str, pd.DataFrame],
    name: str,
    result: pd.DataFrame,
    extras: dict[str, str],
) -> None:
    results[name] = result
    frame[name] = result["value"]
    frame[f"{name}_valid"] = result["valid"].astype("boolean")
    frame[f"{name}_reason"] = result["reason"]
    frame[f"{name}_rule"] = result["rule"]
    frame[f"{name}_confidence"] = result["confidence"].astype(float)
    for source, target in extras.items():
        frame[target] = result[source]


def _names(snapshot: pd.DataFrame, frame: pd.DataFrame, results: dict[str, pd.DataFrame]) -> None:
    names = normalize_person_names(snapshot["first_name"], snapshot["last_name"])
    for part in ("first", "last"):
        result = pd.DataFrame(
            {
                "value": names[f"{part}_name"],
                "valid": names[f"{part}_valid"],
                "reason": names["reason"].where(names[f"{part}_valid"].eq(False), None),
                "rule": names[f"{part}_rule"],
                "confidence": names[f"{part}_confidence"],
            }
        )
        _add(frame, results, f"{part}_name", result, {})
        frame[f"{part}_name_key"] = names[f"{part}_key"]
    frame["honorific"] = names["honorific"]
    frame["name_suffix"] = names["suffix"]


def _place(
    snapshot: pd.DataFrame,
    frame: pd.DataFrame,
    results: dict[str, pd.DataFrame],
    dialing_fallback: pd.Series | None = None,
) -> pd.Series:
    """Country first (from the record, else guessed from an international phone number), then
    the phone, region, postcode and city that read it. Returns the country codes."""
    countries = normalize_countries(snapshot["country"])
    iso = countries["value"]
    dialing = iso if dialing_fallback is None else iso.where(iso.notna(), dialing_fallback)
    phones = normalize_phones(snapshot["phone"], dialing)
    countries = _country_from_phone(countries, snapshot["phone"], phones)
    iso = countries["value"]
    _add(frame, results, "country", countries, {"alpha3": "country_alpha3"})
    _add(
        frame,
        results,
        "phone",
        phones,
        {"e164": "phone_e164", "extension": "phone_extension", "phone_type": "phone_type"},
    )
    _add(
        frame,
        results,
        "region",
        normalize_regions(snapshot["region"], iso),
        {"subdivision_code": "region_code"},
    )
    _add(frame, results, "postcode", normalize_postcodes(snapshot["postcode"], iso), {})
    _add(frame, results, "city", normalize_cities(snapshot["city"]), {})
    # Match keys of the street line (number, street words), for the matcher only: the line
    # itself is not standardized, so no change to it is proposed.
    lines = (
        snapshot["street"] if "street" in snapshot else pd.Series(None, index=snapshot.index, dtype=object)
    )
    streets = street_keys(lines)
    frame["street_number"] = streets["street_number"]
    frame["street_key"] = streets["street_key"]
    return iso


# A phone typed with its country code says where the number is, not always where the person is.
COUNTRY_FROM_PHONE = ("country_from_phone", 0.6)


def _country_from_phone(countries: pd.DataFrame, typed: pd.Series, phones: pd.DataFrame) -> pd.DataFrame:
    """Fill a missing country from a valid phone number written with its country code."""
    rows = countries["valid"].isna() & phones["valid"].eq(True)
    if rows.any():
        # Read again with no default region: only a number that carries its country code passes.
        alone = normalize_phones(typed[rows])
        rows.loc[rows] = alone["valid"].eq(True).to_numpy()
    if not rows.any():
        return countries
    region = phones.loc[rows, "e164"].map(_phone_region)
    rows.loc[rows] = region.notna().to_numpy()
    region = region[region.notna()]
    out = countries.copy()
    rule, confidence = COUNTRY_FROM_PHONE
    out.loc[rows, "value"] = region
    out.loc[rows, "valid"] = True
    out.loc[rows, "rule"] = rule
    out.loc[rows, "confidence"] = confidence
    out.loc[rows, "alpha3"] = region.map(_alpha3)
    return out


@lru_cache(maxsize=4096)
def _alpha3(code: str) -> str | None:
    country = pycountry.countries.get(alpha_2=code)
    return country.alpha_3 if country else None


@lru_cache(maxsize=1_000_000)
def _phone_region(e164: str) -> str | None:
    number = phonenumbers.parse(e164.split(";", 1)[0])
    return phonenumbers.region_code_for_number(number)


def stored_text(snapshot: pd.DataFrame, name: str) -> pd.Series:
    """The text the snapshot kept in `raw_values` for `name` (None where it kept none)."""
    out = pd.Series(None, index=snapshot.index, dtype=object)
    raw = snapshot.get("raw_values", None)
    if raw is None:
        return out
    # Few rows carry raw text; only those are decoded.
    rows = raw.notna() & raw.astype(str).str.contains(f'"{name}"', regex=False)
    if rows.any():
        out[rows] = [json.loads(text).get(name) for text in raw[rows]]
    return out.astype(object).where(out.notna(), None)


def _timestamps(
    snapshot: pd.DataFrame,
    frame: pd.DataFrame,
    results: dict[str, pd.DataFrame],
    name: str,
    country: pd.Series | None,
) -> None:
    """A timestamp field: the typed value stays typed; text not written the ISO way is re-read.

    The snapshot read every parseable value already; only the text it kept (written another
    way, or not a date at all) goes through the date normalizer, with the record's country
    deciding whether "03/05/2024" is the 3rd of May or March the 5th.
    """
    stored = stored_text(snapshot, name)
    typed = snapshot[name]
    result = pd.DataFrame(
        {
            "value": typed,
            "valid": pd.Series(typed.notna(), index=snapshot.index, dtype="boolean").where(typed.notna()),
            "reason": None,
            "rule": None,
            "confidence": 1.0,
        },
        index=snapshot.index,
    )
    written = pd.Series(None, index=snapshot.index, dtype=object)
    rows = stored.notna()
    if rows.any():
        reread = normalize_timestamps(
            stored[rows], dayfirst_countries=None if country is None else country[rows]
        )
        moments = pd.to_datetime(reread["value"], utc=True, format="ISO8601", errors="coerce")
        result.loc[rows, "value"] = moments
        result.loc[rows, "valid"] = reread["valid"].astype("boolean")
        for column in ("reason", "rule", "confidence"):
            result.loc[rows, column] = reread[column]
        written[rows] = reread["value"]
    result["value"] = result["value"].astype("datetime64[ns, UTC]")
    _add(frame, results, name, result, {})
    frame[f"{name}_stored"] = stored
    frame[f"{name}_written"] = written.astype(object).where(written.notna(), None)


def normalize_contacts(
    snapshot: pd.DataFrame, *, company_country: pd.Series | None = None
) -> NormalizedTable:
    """`company_country` (ISO codes aligned to the contacts) is the default region for the
    phone of a contact without a country of its own: most people dial from where they work."""
    frame = snapshot[list(KEY_COLUMNS)].copy()
    results: dict[str, pd.DataFrame] = {}
    iso = _place(snapshot, frame, results, dialing_fallback=company_country)
    _names(snapshot, frame, results)
    emails = normalize_emails(snapshot["email"])
    _add(
        frame,
        results,
        "email",
        emails,
        {
            "domain": "email_domain",
            "is_free": "email_is_free",
            "is_disposable": "email_is_disposable",
            "is_role": "email_is_role",
            "match_key": "email_key",
        },
    )
    _add(
        frame,
        results,
        "title",
        normalize_titles(snapshot["title"]),
        {"seniority": "seniority", "function": "job_function"},
    )
    companies = normalize_company_names(snapshot["company_name"], iso)
    _add(
        frame,
        results,
        "company_name",
        companies,
        {"legal_form": "company_legal_form", "match_key": "company_key"},
    )
    for flag in ("email_is_free", "email_is_disposable", "email_is_role"):
        frame[flag] = frame[flag].astype("boolean")
    # A work email names the employer's domain: evidence for matching and for filling websites.
    frame["company_domain"] = domain_from_email(frame["email"], free_domains=free_providers())
    _timestamps(snapshot, frame, results, "last_activity_at", iso)
    frame["company_id"] = snapshot["company_id"]
    return NormalizedTable(Entity.CONTACT, frame, list(results))


def normalize_companies(snapshot: pd.DataFrame) -> NormalizedTable:
    frame = snapshot[list(KEY_COLUMNS)].copy()
    results: dict[str, pd.DataFrame] = {}
    iso = _place(snapshot, frame, results)
    companies = normalize_company_names(snapshot["name"], iso)
    _add(
        frame,
        results,
        "name",
        companies,
        {
            "name": "base_name",
            "legal_form": "legal_form",
            "match_tokens": "name_tokens",
            "match_key": "name_key",
        },
    )
    _add(
        frame, results, "website", normalize_websites(snapshot["website"], free_domains=free_providers()), {}
    )
    return NormalizedTable(Entity.COMPANY, frame, list(results))


def normalize_employment(
    snapshot: pd.DataFrame, *, contact_country: pd.Series | None = None
) -> NormalizedTable:
    """`contact_country` (ISO codes aligned to the rows) says how the person writes dates."""
    frame = snapshot[[*KEY_COLUMNS, "contact_id", "company_id", "reports_to"]].copy()
    results: dict[str, pd.DataFrame] = {}
    for name in ("valid_from", "valid_to"):
        _timestamps(snapshot, frame, results, name, contact_country)
    _add(
        frame,
        results,
        "title",
        normalize_titles(snapshot["title"]),
        {"seniority": "seniority", "function": "job_function"},
    )
    return NormalizedTable(Entity.EMPLOYMENT, frame, list(results))


def normalize_tenant(
    snapshots: dict[Entity, pd.DataFrame],
    *,
    known_company_country: pd.Series | None = None,
    known_contact_country: pd.Series | None = None,
) -> dict[Entity, NormalizedTable]:
    """All entities of one tenant: companies first, so contacts can borrow their company's country.

    An incremental run normalizes only some records: `known_company_country` and
    `known_contact_country` (normalized countries by id, from the previous run) give the
    countries of the companies and contacts not normalized again.
    """
    return dict(
        normalize_in_order(
            snapshots.__getitem__,
            known_company_country=known_company_country,
            known_contact_country=known_contact_country,
        )
    )


def normalize_in_order(
    read: Callable[[Entity], pd.DataFrame],
    *,
    known_company_country: pd.Series | None = None,
    known_contact_country: pd.Series | None = None,
) -> Iterator[tuple[Entity, NormalizedTable]]:
    """`normalize_tenant` one entity at a time, each snapshot read (`read`) only when its turn
    comes, so a caller can write each table and let it go: at a million records, holding all
    three snapshots and normalized tables at once is most of a run's memory."""
    read = _with_usable_ids(read)
    companies = normalize_companies(read(Entity.COMPANY))
    country_of = _overlay(known_company_country, _by_id(companies.frame, "country"))
    yield Entity.COMPANY, companies
    del companies
    contacts = read(Entity.CONTACT)
    normalized_contacts = normalize_contacts(contacts, company_country=contacts["company_id"].map(country_of))
    del contacts
    person_country = _overlay(known_contact_country, _by_id(normalized_contacts.frame, "country"))
    yield Entity.CONTACT, normalized_contacts
    del normalized_contacts
    employment = read(Entity.EMPLOYMENT)
    yield (
        Entity.EMPLOYMENT,
        normalize_employment(employment, contact_country=employment["contact_id"].map(person_country)),
    )


def _with_usable_ids(read: Callable[[Entity], pd.DataFrame]) -> Callable[[Entity], pd.DataFrame]:
    """Rows without an id of their own (UNKEYED_ISSUES) stay in the snapshot with their reason;
    normalization, dedupe and standardization leave them out, so one repeated id does not
    stop the tenant's run."""

    def usable(entity: Entity) -> pd.DataFrame:
        frame = read(entity)
        if "issues" in frame.columns:
            unkeyed = frame["issues"].fillna("").str.contains(UNKEYED_PATTERN)
        else:
            unkeyed = frame["id"].isna() | frame["id"].duplicated(keep=False)
        return frame[~unkeyed] if unkeyed.any() else frame

    return usable


def _overlay(known: pd.Series | None, fresh: pd.Series) -> pd.Series:
    """`fresh` values, and `known` ones for the ids `fresh` does not have."""
    if known is None or known.empty:
        return fresh
    return pd.concat([known[~known.index.isin(fresh.index)], fresh])


def _by_id(frame: pd.DataFrame, column: str) -> pd.Series:
    out = pd.Series(frame[column].to_numpy(), index=frame["id"].to_numpy())
    return out[~out.index.duplicated()]


NORMALIZERS: dict[Entity, Callable[[pd.DataFrame], NormalizedTable]] = {
    Entity.CONTACT: normalize_contacts,
    Entity.COMPANY: normalize_companies,
    Entity.EMPLOYMENT: normalize_employment,
}
