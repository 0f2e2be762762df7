"""Generate a realistic, messy demo CRM together with the ground truth needed to grade its cleaning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from crm_hygiene.demo.companies import (
    Companies,
    draw_companies,
    render_industries,
    render_names,
    render_websites,
)
from crm_hygiene.demo.config import DemoConfig, DemoCrm
from crm_hygiene.demo.contacts import contact_records, stale_rows
from crm_hygiene.demo.employment import employment_records
from crm_hygiene.demo.mess import RecordBatch
from crm_hygiene.demo.persons import Persons, draw_countries, draw_persons
from crm_hygiene.demo.phones import Phones, draw_phones, render_phones
from crm_hygiene.demo.places import Address, AddressMess, draw_addresses, render_address
from crm_hygiene.demo.pools import COUNTRIES, build_pools
from crm_hygiene.demo.scaffold import Scaffold, scaffold, system_fields
from crm_hygiene.demo.structure import DAY
from crm_hygiene.demo.truth import FieldTruthLog, write_truth_tables
from crm_hygiene.demo.vectors import Strings, digits, frame, iso_dates
from crm_hygiene.model.records import COMPANY, Entity

COMPANY_ADDRESS_MESS = AddressMess(
    street=(0.15, 0.3), city=(0.08, 0.15), postcode=(0.15, 0.3), region=(0.15, 0.25), country=(0.04, 0.1)
)


def generate_demo_crm(config: DemoConfig) -> DemoCrm:
    """A demo CRM of `config.contacts` contacts and `config.companies` companies, plus its ground truth.

    Deterministic: the same config gives identical frames (with the same Faker version installed).
    """
    rng = np.random.default_rng(config.seed)
    pools = build_pools(config.seed)
    now = int(config.now.timestamp())
    log = FieldTruthLog()

    company_layout, n_companies = scaffold(rng, config.companies, config.duplicate_rate, "A", now)
    country = draw_countries(rng, n_companies)
    companies = draw_companies(pools, rng, country)
    company_address = draw_addresses(pools.address, rng, country)
    company_phone = draw_phones(rng, country)
    company_frame = _company_records(
        rng, company_layout, companies, company_phone, company_address, log, now, config.tenant
    )

    contact_layout, n_people = scaffold(rng, config.contacts, config.duplicate_rate, "C", now)
    persons = draw_persons(
        pools,
        rng,
        n_people,
        companies,
        company_address,
        now // DAY,
        company_phone=company_phone,
        # Its own stream: everything else is drawn as it would be without hard negatives.
        negatives=np.random.default_rng([config.seed, HARD_NEGATIVES_STREAM]),
    )
    stale = stale_rows(rng, contact_layout, persons)
    contact_frame = contact_records(
        rng, contact_layout, persons, stale, companies, company_layout, pools, log, now, config.tenant
    )
    employment_frame = employment_records(
        rng,
        persons,
        contact_layout,
        stale,
        company_layout,
        log,
        now,
        config.tenant,
        contact_frame["owner"].to_numpy(dtype=object),
    )
    _garble_activity_dates(rng, contact_frame, log)
    person_country = np.asarray(COUNTRIES, dtype=object)[persons.address.country[contact_layout.entity]]
    _locally_written_dates(rng, contact_frame, person_country, log)
    records = {
        Entity.CONTACT: contact_frame,
        Entity.COMPANY: company_frame,
        Entity.EMPLOYMENT: employment_frame,
    }
    return DemoCrm(records=records, truth=_truth(persons, contact_layout, company_layout, log))


HARD_NEGATIVES_STREAM = 0x4E454741


GARBLED_DATES = ("N/A", "last week", "31/02/2021", "0000-00-00", "tbd")


def _garble_activity_dates(rng: np.random.Generator, contacts: pd.DataFrame, log: FieldTruthLog) -> None:
    """A few activity dates typed by hand: text no date parser accepts (the snapshot flags them).

    Drawn last, so every other value stays the same as without this step.
    """
    activity = contacts["last_activity_at"].to_numpy(dtype=object)
    rows = np.flatnonzero(pd.notna(activity) & (rng.random(len(activity)) < 0.002))
    if len(rows) == 0:
        return
    true = activity.copy()
    stored = activity.copy()
    stored[rows] = np.array(GARBLED_DATES, dtype=object)[rng.integers(0, len(GARBLED_DATES), len(rows))]
    kinds = np.full(len(activity), None, dtype=object)
    kinds[rows] = "unparseable_date"
    log.add(Entity.CONTACT, contacts["id"].to_numpy(dtype=object), "last_activity_at", true, stored, kinds)
    contacts["last_activity_at"] = stored


# How people write a date by hand where they live: month first in North America.
MONTH_FIRST_COUNTRIES = frozenset({"US", "CA"})
LOCAL_DATE_SHARE = 0.01


def _locally_written_dates(
    rng: np.random.Generator, contacts: pd.DataFrame, country: np.ndarray, log: FieldTruthLog
) -> None:
    """Some activity dates typed by hand the local way: "08/05/2026", "5 Aug 2026", "5.8.2026".

    The true value is the ISO date; the record's true country says which number is the day.
    Drawn after every other value, so those stay the same as without this step.
    """
    stored = contacts["last_activity_at"].to_numpy(dtype=object)
    iso = pd.to_datetime(pd.Series(stored), utc=True, errors="coerce", format="ISO8601")
    rows = np.flatnonzero(iso.notna().to_numpy() & (rng.random(len(stored)) < LOCAL_DATE_SHARE))
    if len(rows) == 0:
        return
    moments = iso.iloc[rows].dt
    month_first = np.isin(country[rows], list(MONTH_FIRST_COUNTRIES))
    numeric = np.where(month_first, moments.strftime("%m/%d/%Y"), moments.strftime("%d/%m/%Y"))
    spelled = (moments.day.astype(str) + moments.strftime(" %b %Y")).to_numpy(dtype=object)
    dotted = (moments.day.astype(str) + "." + moments.month.astype(str) + moments.strftime(".%Y")).to_numpy()
    style = rng.integers(0, 10, len(rows))
    written = np.where(
        style < 6, numeric, np.where(style < 9, spelled, np.where(month_first, numeric, dotted))
    )
    true = np.full(len(stored), None, dtype=object)
    true[rows] = moments.strftime("%Y-%m-%d").to_numpy(dtype=object)
    typed = stored.copy()
    typed[rows] = written
    kinds = np.full(len(stored), None, dtype=object)
    kinds[rows] = "date_format"
    log.add(Entity.CONTACT, contacts["id"].to_numpy(dtype=object), "last_activity_at", true, typed, kinds)
    contacts["last_activity_at"] = typed


def write_truth(demo: DemoCrm, directory: Path) -> list[Path]:
    """Write each truth table as parquet into `directory`, plus a README.md describing the columns."""
    return write_truth_tables(demo.truth, Path(directory))


def _company_records(
    rng: np.random.Generator,
    layout: Scaffold,
    companies: Companies,
    phones: Phones,
    address: Address,
    log: FieldTruthLog,
    now: int,
    tenant: str,
) -> pd.DataFrame:
    k = layout.entity
    batch = RecordBatch(Entity.COMPANY, layout.ids, layout.is_copy, rng, log)
    shown = companies.take(k)
    business = {
        "name": render_names(shown, batch),
        "website": render_websites(shown, batch),
        "phone": render_phones(phones.take(k), batch, missing=(0.10, 0.2)),
        "industry": render_industries(shown, batch),
        **render_address(address.take(k), batch, COMPANY_ADDRESS_MESS),
    }
    columns = {**system_fields(rng, layout.ids, layout.created, now, tenant), **business}
    return frame(columns, COMPANY.fields)


def entity_ids(prefix: str, index: np.ndarray) -> Strings:
    return prefix + digits(np.asarray(index) + 1, 7)


def _truth(
    persons: Persons, contacts: Scaffold, companies: Scaffold, log: FieldTruthLog
) -> dict[str, pd.DataFrame]:
    chart = persons.chart
    person_id = entity_ids("person-", np.arange(len(persons)))
    company_id = entity_ids("company-", np.arange(len(companies.original)))
    changers = np.flatnonzero(chart.changed_job)
    managed = np.flatnonzero(chart.manager >= 0)
    return {
        "contact_entities": frame(
            {"record_id": contacts.ids.copy(), "entity_id": person_id[contacts.entity]}
        ),
        "company_entities": frame(
            {"record_id": companies.ids.copy(), "entity_id": company_id[companies.entity]}
        ),
        "field_truth": log.frame(),
        "current_employer": frame(
            {"contact_entity_id": person_id, "company_entity_id": company_id[chart.employer]}
        ),
        "job_changes": frame(
            {
                "contact_entity_id": person_id[changers],
                "previous_company_entity_id": company_id[chart.previous_employer[changers]],
                "company_entity_id": company_id[chart.employer[changers]],
                "changed_on": iso_dates(chart.started_on[changers]),
            }
        ),
        "reporting_lines": frame(
            {
                "contact_entity_id": person_id[managed],
                "manager_entity_id": person_id[chart.manager[managed]],
                "company_entity_id": company_id[chart.employer[managed]],
            }
        ),
        "hard_negatives": _hard_negatives(persons, person_id),
    }


def _hard_negatives(persons: Persons, person_id: Strings) -> pd.DataFrame:
    """Pairs of different people who share much: relatives (last name, home address, home
    line) and colleagues on one company's switchboard number."""
    relatives = persons.relatives
    on_board = np.flatnonzero(persons.switchboard)
    board = pd.DataFrame({"person": on_board, "employer": persons.chart.employer[on_board]})
    colleagues = board.merge(board, on="employer")
    colleagues = colleagues[colleagues["person_x"] < colleagues["person_y"]]
    left = np.concatenate([relatives[:, 0], colleagues["person_x"].to_numpy(dtype=np.int64)])
    right = np.concatenate([relatives[:, 1], colleagues["person_y"].to_numpy(dtype=np.int64)])
    kind = np.array(["relative"] * len(relatives) + ["switchboard colleague"] * len(colleagues), dtype=object)
    return frame({"contact_entity_id": person_id[left], "other_entity_id": person_id[right], "kind": kind})
