"""Employment records: who works (and worked) where, with whom as manager, from when to when."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_hygiene.demo.mess import RecordBatch
from crm_hygiene.demo.persons import Persons
from crm_hygiene.demo.scaffold import Scaffold, system_fields
from crm_hygiene.demo.structure import DAY
from crm_hygiene.demo.titles import render_titles
from crm_hygiene.demo.truth import FieldTruthLog
from crm_hygiene.demo.vectors import Strings, digits, frame, iso_dates, nones
from crm_hygiene.model.records import EMPLOYMENT, Entity

REPORTS_TO_KNOWN = 0.65  # share of reporting lines the CRM actually holds
COPY_EMPLOYMENT_SHARE = 0.4  # duplicate contact records that got their own employment record


def employment_records(
    rng: np.random.Generator,
    persons: Persons,
    contacts: Scaffold,
    stale: np.ndarray,
    companies: Scaffold,
    log: FieldTruthLog,
    now: int,
    tenant: str,
    owner: Strings,
) -> pd.DataFrame:
    """Current rows for every person, closed former rows for job changers, a few rows from duplicate contacts.

    `owner` is the owner of each contact record; employment records inherit it.
    """
    chart = persons.chart
    n_people = len(persons)
    everyone = np.arange(n_people)
    changers = np.flatnonzero(chart.changed_job)
    copies = np.flatnonzero(contacts.is_copy & (rng.random(len(contacts)) < COPY_EMPLOYMENT_SHARE))
    copy_person = contacts.entity[copies]
    copy_stale = stale[copies]

    # Row kinds: 0 current job, 1 former job, 2 a duplicate contact's own (possibly stale) record.
    kind = np.concatenate([np.zeros(n_people, int), np.ones(len(changers), int), np.full(len(copies), 2)])
    person = np.concatenate([everyone, changers, copy_person])
    contact_pos = np.concatenate([contacts.original[everyone], contacts.original[changers], copies])
    row_is_old = np.concatenate([np.zeros(n_people, bool), np.ones(len(changers), bool), copy_stale])
    company = np.where(row_is_old, chart.previous_employer[person], chart.employer[person])
    title = np.where(row_is_old, persons.previous_title[person], persons.title[person])
    valid_from = np.where(row_is_old, chart.previous_started_on[person], chart.started_on[person])
    # Former jobs end the day the new one starts; a stale copy never heard of the move.
    valid_to = np.where(kind == 1, chart.started_on[person], -1)
    true_valid_to = np.where(row_is_old, chart.started_on[person], -1)

    created = np.minimum(contacts.created[contact_pos] + rng.integers(0, 30 * DAY, len(kind)), now - 1)
    order = np.argsort(created, kind="stable")
    kind, person, contact_pos, company, title = (
        a[order] for a in (kind, person, contact_pos, company, title)
    )
    valid_from, valid_to, true_valid_to, created = (
        a[order] for a in (valid_from, valid_to, true_valid_to, created)
    )
    ids = "E" + digits(np.arange(1, len(kind) + 1), max(7, len(str(len(kind)))))
    batch = RecordBatch(Entity.EMPLOYMENT, ids, kind == 2, rng, log)

    stored_title = render_titles(title, title, batch, missing=(0.3, 0.4))
    # Start dates go missing on plain records; job changes keep theirs, or there would be no change to see.
    undated = (kind == 0) & ~persons.chart.changed_job[person] & (rng.random(len(kind)) < 0.05)
    business = {
        "contact_id": contacts.ids[contact_pos],
        "company_id": companies.ids[companies.original[company]],
        "title": stored_title,
        "reports_to": _reports_to(persons, person, kind, contacts, batch),
        "valid_from": _dates(valid_from, batch, "valid_from", missing=undated),
        "valid_to": _dates(valid_to, batch, "valid_to", true_days=true_valid_to),
    }
    columns = {
        **system_fields(rng, ids, created, now, tenant, owner[contact_pos], with_activity=False),
        **business,
    }
    return frame(columns, EMPLOYMENT.fields)


def _reports_to(
    persons: Persons, person: np.ndarray, kind: np.ndarray, contacts: Scaffold, batch: RecordBatch
) -> Strings:
    manager = persons.chart.manager[person]
    has_manager = (kind == 0) & (manager >= 0)
    true = nones(len(person))
    true[has_manager] = contacts.ids[contacts.original[manager[has_manager]]]
    stored = true.copy()
    kinds = nones(len(person))
    unknown = has_manager & (batch.rng.random(len(person)) >= REPORTS_TO_KNOWN)
    stored[unknown] = None
    kinds[unknown] = "missing"
    batch.record("reports_to", true, stored, kinds)
    return stored


def _dates(
    days: np.ndarray,
    batch: RecordBatch,
    field: str,
    missing: np.ndarray | None = None,
    true_days: np.ndarray | None = None,
) -> Strings:
    """ISO dates (None where `days` is -1); logs values left out and values that disagree with `true_days`."""
    stored = _iso_or_none(days)
    true = stored.copy() if true_days is None else _iso_or_none(true_days)
    kinds = nones(len(days))
    if missing is not None:
        stored[missing] = None
        kinds[missing] = "missing"
    kinds[(stored != true) & (kinds != "missing")] = "stale_employer"
    batch.record(field, true, stored, kinds)
    return stored


def _iso_or_none(days: np.ndarray) -> Strings:
    out = nones(len(days))
    known = days >= 0
    out[known] = iso_dates(days[known])
    return out
