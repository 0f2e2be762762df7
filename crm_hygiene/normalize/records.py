"""Normalize whole snapshot tables: every field family, in dependency order, as one frame.

The record's country is normalized first because phones, regions and postcodes read it.
The output keeps each record's id, tenant and version, and per normalized field `f`:
`f` (canonical value, None when invalid), `f_valid`, `f_reason`, plus match keys and parts.
The snapshot itself is never modified: proposals carry the stored value as `old_value`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from crm_hygiene.model import Entity
from crm_hygiene.normalize.addresses import normalize_cities, normalize_postcodes
from crm_hygiene.normalize.companies import normalize_company_names
from crm_hygiene.normalize.countries import normalize_countries
from crm_hygiene.normalize.emails import free_providers, normalize_emails
from crm_hygiene.normalize.names import normalize_person_names
from crm_hygiene.normalize.phones import normalize_phones
from crm_hygiene.normalize.proposals import PROPOSAL_COLUMNS, field_proposals
from crm_hygiene.normalize.regions import normalize_regions
from crm_hygiene.normalize.titles import normalize_titles
from crm_hygiene.normalize.websites import domain_from_email, normalize_websites

KEY_COLUMNS = ("id", "tenant", "version", "status")


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
        part = field_proposals(tenant, entity.value, snapshot, name, result)
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


def _place(snapshot: pd.DataFrame, frame: pd.DataFrame, results: dict[str, pd.DataFrame]) -> pd.Series:
    countries = normalize_countries(snapshot["country"])
    _add(frame, results, "country", countries, {"alpha3": "country_alpha3"})
    iso = countries["value"]
    _add(
        frame,
        results,
        "region",
        normalize_regions(snapshot["region"], iso),
        {"subdivision_code": "region_code"},
    )
    _add(frame, results, "postcode", normalize_postcodes(snapshot["postcode"], iso), {})
    _add(frame, results, "city", normalize_cities(snapshot["city"]), {})
    return iso


def _phone(
    snapshot: pd.DataFrame, frame: pd.DataFrame, results: dict[str, pd.DataFrame], iso: pd.Series
) -> None:
    phones = normalize_phones(snapshot["phone"], iso)
    _add(
        frame,
        results,
        "phone",
        phones,
        {"e164": "phone_e164", "extension": "phone_extension", "phone_type": "phone_type"},
    )


def normalize_contacts(
    snapshot: pd.DataFrame, *, company_country: pd.Series | None = None
) -> NormalizedTable:
    """`company_country` (ISO codes aligned to the contacts) is the default region for the
    phone of a contact without a country of its own: most people dial from where they work."""
    frame = snapshot[list(KEY_COLUMNS)].copy()
    results: dict[str, pd.DataFrame] = {}
    iso = _place(snapshot, frame, results)
    dialing_region = iso if company_country is None else iso.where(iso.notna(), company_country)
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
    _phone(snapshot, frame, results, dialing_region)
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
    _phone(snapshot, frame, results, iso)
    return NormalizedTable(Entity.COMPANY, frame, list(results))


def normalize_employment(snapshot: pd.DataFrame) -> NormalizedTable:
    frame = snapshot[
        [*KEY_COLUMNS, "contact_id", "company_id", "reports_to", "valid_from", "valid_to"]
    ].copy()
    results: dict[str, pd.DataFrame] = {}
    _add(
        frame,
        results,
        "title",
        normalize_titles(snapshot["title"]),
        {"seniority": "seniority", "function": "job_function"},
    )
    return NormalizedTable(Entity.EMPLOYMENT, frame, list(results))


def normalize_tenant(snapshots: dict[Entity, pd.DataFrame]) -> dict[Entity, NormalizedTable]:
    """All entities of one tenant: companies first, so contacts can borrow their company's country."""
    companies = normalize_companies(snapshots[Entity.COMPANY])
    country_of = pd.Series(companies.frame["country"].to_numpy(), index=companies.frame["id"].to_numpy())
    country_of = country_of[~country_of.index.duplicated()]
    contacts = snapshots[Entity.CONTACT]
    return {
        Entity.COMPANY: companies,
        Entity.CONTACT: normalize_contacts(contacts, company_country=contacts["company_id"].map(country_of)),
        Entity.EMPLOYMENT: normalize_employment(snapshots[Entity.EMPLOYMENT]),
    }


NORMALIZERS: dict[Entity, Callable[[pd.DataFrame], NormalizedTable]] = {
    Entity.CONTACT: normalize_contacts,
    Entity.COMPANY: normalize_companies,
    Entity.EMPLOYMENT: normalize_employment,
}
