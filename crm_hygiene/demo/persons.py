"""The true facts about every person: name, employer history, title, e-mail, phone, address."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm_hygiene.demo.companies import Companies
from crm_hygiene.demo.emails import Emails, free_emails, make_unique, work_emails
from crm_hygiene.demo.people import People, draw_people
from crm_hygiene.demo.phones import Phones, draw_phones
from crm_hygiene.demo.places import Address, draw_addresses
from crm_hygiene.demo.pools import COUNTRIES, Pools
from crm_hygiene.demo.structure import OrgChart, draw_org_chart
from crm_hygiene.demo.titles import draw_titles
from crm_hygiene.demo.vectors import Strings, nones, weighted_choice

COUNTRY_WEIGHTS: dict[str, float] = {
    "US": 45, "GB": 10, "DE": 9, "FR": 7, "IN": 6, "BR": 5, "JP": 4, "AU": 4, "CA": 5, "NL": 5,
}  # fmt: skip
WORK_EMAIL_SHARE = 0.82
LOCAL_HIRE_SHARE = 0.85


def _current_emails(
    pools: Pools,
    rng: np.random.Generator,
    people: People,
    work: np.ndarray,
    domain: Strings,
    home: np.ndarray,
) -> Emails:
    local, out_domain = nones(len(work)), nones(len(work))
    at_work, free = np.flatnonzero(work), np.flatnonzero(~work)
    office = work_emails(people.given[at_work], people.family[at_work], domain[at_work], pools, rng)
    private = free_emails(people.given[free], people.family[free], home[free], pools, rng)
    local[at_work], out_domain[at_work] = office.local, office.domain
    local[free], out_domain[free] = private.local, private.domain
    return make_unique(Emails(local, out_domain))


def draw_countries(rng: np.random.Generator, n: int) -> np.ndarray:
    return weighted_choice(rng, [COUNTRY_WEIGHTS[c] for c in COUNTRIES], n)


@dataclass(frozen=True)
class Persons:
    """One row per person entity."""

    people: People
    chart: OrgChart
    title: np.ndarray  # index into TITLE_VARIANTS, current job
    previous_title: np.ndarray  # at the previous employer (job changers only)
    email: Emails  # current
    previous_email: Emails  # the address at the previous employer (= current unless it changed)
    work_email: np.ndarray  # the current address is at the employer's domain
    phone: Phones
    address: Address

    def __len__(self) -> int:
        return len(self.people)


def draw_persons(
    pools: Pools,
    rng: np.random.Generator,
    n: int,
    companies: Companies,
    company_address: Address,
    today: int,
) -> Persons:
    chart = draw_org_chart(rng, n, len(companies), today)
    employer_country = companies.country[chart.employer]
    home = np.where(rng.random(n) < LOCAL_HIRE_SHARE, employer_country, draw_countries(rng, n))
    people = draw_people(pools, rng, home)
    title = draw_titles(rng, chart.level)
    previous_title = draw_titles(rng, np.full(n, 2))

    work = rng.random(n) < WORK_EMAIL_SHARE
    email = _current_emails(pools, rng, people, work, companies.domain[chart.employer], home)
    previous_email = email.take(np.arange(n))
    moved = np.flatnonzero(work & chart.changed_job)
    former = work_emails(
        people.given[moved],
        people.family[moved],
        companies.domain[chart.previous_employer[moved]],
        pools,
        rng,
    )
    # Former addresses must not clash with anyone's current one either.
    both = make_unique(
        Emails(np.concatenate([email.local, former.local]), np.concatenate([email.domain, former.domain])),
        first=n,
    )
    previous_email.local[moved] = both.local[n:]
    previous_email.domain[moved] = both.domain[n:]

    phone = draw_phones(rng, home, extension_share=0.05)
    own = draw_addresses(pools.address, rng, home)
    # Half of the people who live where their employer is are filed under the office address.
    office = (rng.random(n) < 0.5) & (home == employer_country)
    address = own.where(office, company_address.take(chart.employer))
    return Persons(people, chart, title, previous_title, email, previous_email, work, phone, address)
