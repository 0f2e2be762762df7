"""Who works where, who reports to whom, and who changed jobs: the true org charts behind the CRM."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

JOB_CHANGER_SHARE = 0.12
MANAGERS_PER_COMPANY = 3
DAY = 86_400


@dataclass(frozen=True)
class OrgChart:
    """Per person: current employer, level (0 head, 1 manager, 2 staff), manager, and a former job if any.

    Companies are entity indexes, people are person indexes; -1 means none. Dates are days since epoch.
    """

    employer: np.ndarray
    level: np.ndarray
    manager: np.ndarray
    started_on: np.ndarray  # at the current employer (for job changers: the day they left the last one)
    previous_employer: np.ndarray
    previous_started_on: np.ndarray  # at the previous employer

    @property
    def changed_job(self) -> np.ndarray:
        return self.previous_employer >= 0


def draw_org_chart(rng: np.random.Generator, people: int, companies: int, today: int) -> OrgChart:
    """Spread `people` over `companies` (a few large accounts, many small ones) and build their org charts."""
    size = rng.lognormal(0.0, 1.2, companies)
    employer = rng.choice(companies, size=people, p=size / size.sum())

    # Within each company a random order: the first is its head, the next few are managers.
    order = np.lexsort((rng.random(people), employer))
    sorted_employer = employer[order]
    group_start = np.searchsorted(sorted_employer, sorted_employer, side="left")
    group_size = np.searchsorted(sorted_employer, sorted_employer, side="right") - group_start
    rank = np.arange(people) - group_start
    level_sorted = np.where(rank == 0, 0, np.where(rank <= MANAGERS_PER_COMPANY, 1, 2))
    managers = np.minimum(MANAGERS_PER_COMPANY, group_size - 1)
    boss_rank = np.where(
        level_sorted == 1, 0, 1 + (rng.random(people) * np.maximum(managers, 1)).astype(np.int64)
    )
    boss = order[np.minimum(group_start + boss_rank, people - 1)]  # clipped: heads have no boss
    manager_sorted = np.where(level_sorted == 0, -1, boss)
    level = np.empty(people, dtype=np.int64)
    manager = np.empty(people, dtype=np.int64)
    level[order] = level_sorted
    manager[order] = manager_sorted

    changed = (rng.random(people) < JOB_CHANGER_SHARE) if companies > 1 else np.zeros(people, dtype=bool)
    previous = np.where(
        changed, (employer + 1 + rng.integers(0, max(companies - 1, 1), people)) % companies, -1
    )
    tenure = np.where(changed, rng.integers(20, 1_000, people), rng.integers(60, 3_650, people))
    started_on = today - tenure
    previous_started_on = np.where(changed, started_on - rng.integers(200, 3_000, people), -1)
    return OrgChart(employer, level, manager, started_on, previous, previous_started_on)
