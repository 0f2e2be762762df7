"""The true facts about every person: name, employer history, title, e-mail, phone, address."""

from __future__ import annotations

from dataclasses import dataclass, field

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
# Hard negatives: people a matcher must keep apart although they share much. A relative lives
# with another person (same last name, home address and home line, another first name); a
# colleague on the switchboard is filed under the company's main number, which everyone else
# on it at that company shares too.
RELATIVE_SHARE = 0.03
SWITCHBOARD_SHARE = 0.08


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
    # Hard negatives (see RELATIVE_SHARE): (person, relative) rows, and who is on the switchboard.
    relatives: np.ndarray = field(default_factory=lambda: np.empty((0, 2), dtype=np.int64))
    switchboard: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __len__(self) -> int:
        return len(self.people)


def draw_persons(
    pools: Pools,
    rng: np.random.Generator,
    n: int,
    companies: Companies,
    company_address: Address,
    today: int,
    *,
    company_phone: Phones | None = None,
    negatives: np.random.Generator | None = None,
) -> Persons:
    """`negatives` draws the hard negatives (relatives, switchboard colleagues; none without it)
    from its own stream, so that every other person is drawn exactly as without them."""
    chart = draw_org_chart(rng, n, len(companies), today)
    employer_country = companies.country[chart.employer]
    home = np.where(rng.random(n) < LOCAL_HIRE_SHARE, employer_country, draw_countries(rng, n))
    people = draw_people(pools, rng, home)
    relatives = _relatives(negatives, people, home) if negatives is not None else np.empty((0, 2), np.int64)
    if len(relatives):
        # The relative takes the family name before e-mail addresses are made from it.
        who, of = relatives[:, 0], relatives[:, 1]
        people.family[who], people.last_name[who] = people.family[of], people.last_name[of]
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
    switchboard = np.zeros(n, dtype=bool)
    if len(relatives):
        who, of = relatives[:, 0], relatives[:, 1]
        own = own.where(np.isin(np.arange(n), who), own.take(_partner(n, who, of)))
        phone = _where(np.isin(np.arange(n), who), phone.take(_partner(n, who, of)), phone)
        office[who] = office[of] = False  # both are filed under their home
    if negatives is not None and company_phone is not None:
        switchboard = negatives.random(n) < SWITCHBOARD_SHARE
        if len(relatives):
            switchboard[relatives.ravel()] = False
        phone = _where(switchboard, company_phone.take(chart.employer), phone)
    address = own.where(office, company_address.take(chart.employer))
    return Persons(
        people,
        chart,
        title,
        previous_title,
        email,
        previous_email,
        work,
        phone,
        address,
        relatives,
        switchboard,
    )


def _relatives(rng: np.random.Generator, people: People, home: np.ndarray) -> np.ndarray:
    """(person, relative-of) rows: RELATIVE_SHARE of people join another person of their home
    country, who is nobody's relative, with another given name. One draw per country."""
    n = len(people)
    chosen = rng.random(n) < RELATIVE_SHARE
    pairs = []
    for country in np.unique(home):
        who = np.flatnonzero(chosen & (home == country))
        free = np.flatnonzero(~chosen & (home == country))
        if len(who) == 0 or len(free) < len(who):
            continue
        of = rng.choice(free, size=len(who), replace=False)
        pairs.append(np.column_stack([who, of]))
    if not pairs:
        return np.empty((0, 2), dtype=np.int64)
    found = np.concatenate(pairs).astype(np.int64)
    return found[people.given[found[:, 0]] != people.given[found[:, 1]]]


def _partner(n: int, who: np.ndarray, of: np.ndarray) -> np.ndarray:
    """Row index per person: the person it takes a household from (itself for everyone else)."""
    rows = np.arange(n)
    rows[who] = of
    return rows


def _where(use_other: np.ndarray, other: Phones, phones: Phones) -> Phones:
    return Phones(
        np.where(use_other, other.plan, phones.plan),
        np.where(use_other, other.area, phones.area),
        np.where(use_other, other.subscriber, phones.subscriber),
        np.where(use_other, other.extension, phones.extension),
    )
