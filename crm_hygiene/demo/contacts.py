"""Contact records: each a messy rendering of one person, some of them stale or duplicated."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_hygiene.demo import companies as company_fields
from crm_hygiene.demo.companies import Companies
from crm_hygiene.demo.emails import render_emails
from crm_hygiene.demo.mess import RecordBatch
from crm_hygiene.demo.people import full_names, render_names
from crm_hygiene.demo.persons import Persons
from crm_hygiene.demo.phones import render_phones
from crm_hygiene.demo.places import AddressMess, render_address
from crm_hygiene.demo.pools import Pools
from crm_hygiene.demo.scaffold import Scaffold, system_fields
from crm_hygiene.demo.titles import render_titles
from crm_hygiene.demo.truth import FieldTruthLog
from crm_hygiene.demo.vectors import frame, nones
from crm_hygiene.model.records import CONTACT, Entity

CONTACT_ADDRESS_MESS = AddressMess(
    street=(0.45, 0.6), city=(0.25, 0.35), postcode=(0.40, 0.5), region=(0.30, 0.4), country=(0.12, 0.2)
)
# Share of job changers' records still showing the former employer (copies are often older leads).
STALE_SHARE = (0.4, 0.5)


def stale_rows(rng: np.random.Generator, layout: Scaffold, persons: Persons) -> np.ndarray:
    """Records of job changers that still show the former employer."""
    share = np.where(layout.is_copy, STALE_SHARE[1], STALE_SHARE[0])
    return persons.chart.changed_job[layout.entity] & (rng.random(len(layout)) < share)


def contact_records(
    rng: np.random.Generator,
    layout: Scaffold,
    persons: Persons,
    stale: np.ndarray,
    companies: Companies,
    company_layout: Scaffold,
    pools: Pools,
    log: FieldTruthLog,
    now: int,
    tenant: str,
) -> pd.DataFrame:
    p = layout.entity
    chart = persons.chart
    batch = RecordBatch(Entity.CONTACT, layout.ids, layout.is_copy, rng, log)
    employer = chart.employer[p]
    shown_company = np.where(stale, chart.previous_employer[p], employer)

    first, last = render_names(persons.people.take(p), pools, batch)
    shown_email = persons.email.take(p).where(stale, persons.previous_email.take(p))
    alt_domain = np.where(persons.work_email[p] & ~stale, companies.alt_domain[employer], nones(len(p)))
    display = full_names(persons.people.first_name[p], persons.people.last_name[p])
    email = render_emails(shown_email, persons.email.address()[p], display, alt_domain, batch)
    phone = render_phones(persons.phone.take(p), batch, missing=(0.25, 0.35))
    title = render_titles(
        persons.title[p],
        np.where(stale, persons.previous_title[p], persons.title[p]),
        batch,
        missing=(0.15, 0.25),
    )
    company_id = _company_ids(rng, batch, company_layout, shown_company, employer, stale)
    company_name = company_fields.render_names(
        companies.take(shown_company),
        batch,
        "company_name",
        true=companies.names()[employer],
        stale=stale,
        missing=(0.05, 0.10),
    )
    business = {
        "first_name": first,
        "last_name": last,
        "email": email,
        "phone": phone,
        "title": title,
        "company_id": company_id,
        "company_name": company_name,
        **render_address(persons.address.take(p), batch, CONTACT_ADDRESS_MESS),
    }
    columns = {**system_fields(rng, layout.ids, layout.created, now, tenant), **business}
    return frame(columns, CONTACT.fields)


def _company_ids(
    rng: np.random.Generator,
    batch: RecordBatch,
    company_layout: Scaffold,
    shown_company: np.ndarray,
    employer: np.ndarray,
    stale: np.ndarray,
) -> np.ndarray:
    """Links to a company record: mostly the company's original record, sometimes one of its copies."""
    kinds = batch.mess({"missing": (0.06, 0.12)})
    stored = company_layout.ids[company_layout.any_record(rng, shown_company, original_share=0.85)]
    # Pointing at a copy of the right company is not wrong for the contact: the company needs merging.
    true = np.where(stale, company_layout.ids[company_layout.original[employer]], stored)
    kinds[stale & (kinds != "missing")] = "stale_employer"
    stored[kinds == "missing"] = None
    true[kinds == "missing"] = company_layout.ids[company_layout.original[employer[kinds == "missing"]]]
    batch.record("company_id", true, stored, kinds)
    return stored
