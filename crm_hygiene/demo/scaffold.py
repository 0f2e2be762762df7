"""Records before their business fields: which entity each describes, duplicate copies, ids, system fields."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm_hygiene.demo.vectors import (
    Strings,
    constant,
    digits,
    iso_timestamps,
    nones,
    strings,
    uniform_index,
    weighted_choice,
)

YEAR = 365 * 86_400
OWNERS: tuple[tuple[str, float], ...] = (
    ("alex.morgan@example.com", 14),
    ("jordan.lee@example.com", 12),
    ("sam.patel@example.com", 11),
    ("casey.nguyen@example.com", 10),
    ("taylor.brooks@example.com", 9),
    ("riley.schmidt@example.com", 8),
    ("morgan.dubois@example.com", 8),
    ("jamie.tanaka@example.com", 7),
    ("drew.oliveira@example.com", 6),
    ("avery.jansen@example.com", 6),
    ("quinn.walsh@example.com", 5),
    ("former.rep@example.com", 4),
)


@dataclass(frozen=True)
class Scaffold:
    """Records of one entity in creation order (ids ascend with `created_at`)."""

    entity: np.ndarray  # entity index each record describes
    is_copy: np.ndarray  # an extra copy of an entity that already has a record
    ids: Strings
    created: np.ndarray  # seconds since epoch
    original: np.ndarray  # per entity: position of its original record

    def __len__(self) -> int:
        return len(self.ids)

    def any_record(self, rng: np.random.Generator, entity: np.ndarray, original_share: float) -> np.ndarray:
        """A record position per given entity: its original with `original_share`, else any of its records."""
        by_entity = np.argsort(self.entity, kind="stable")
        first = np.searchsorted(self.entity[by_entity], np.arange(len(self.original)))
        count = np.bincount(self.entity, minlength=len(self.original))
        anyone = by_entity[first[entity] + uniform_index(rng, count[entity])]
        return np.where(rng.random(len(entity)) < original_share, self.original[entity], anyone)


def scaffold(
    rng: np.random.Generator, records: int, duplicate_rate: float, prefix: str, now: int
) -> tuple[Scaffold, int]:
    """Lay out `records` records, `round(records * duplicate_rate)` of them extra copies; returns entity count too."""
    copies = round(records * duplicate_rate)
    entities = max(records - copies, 1)
    copies = records - entities
    entity = np.concatenate([np.arange(entities), rng.integers(0, entities, copies)])
    is_copy = np.arange(records) >= entities
    created = now - rng.integers(86_400, 8 * YEAR, records)
    order = np.argsort(created, kind="stable")
    entity, is_copy, created = entity[order], is_copy[order], created[order]
    original = np.empty(entities, dtype=np.int64)
    original[entity[~is_copy]] = np.flatnonzero(~is_copy)
    width = max(7, len(str(records)))
    ids = prefix + digits(np.arange(1, records + 1), width)
    return Scaffold(entity, is_copy, ids, created, original), entities


def system_fields(
    rng: np.random.Generator,
    ids: Strings,
    created: np.ndarray,
    now: int,
    tenant: str,
    owner: Strings | None = None,
    with_activity: bool = True,
) -> dict[str, object]:
    """The bookkeeping columns every record carries (see SYSTEM_FIELDS)."""
    n = len(ids)
    age = now - created
    updated = created + (rng.random(n) * age).astype(np.int64)
    source_ids = 1_000_000_000 + rng.integers(0, 100_000_000) + np.cumsum(rng.integers(1, 40, n))
    if owner is None:
        owner = strings([o for o, _ in OWNERS])[weighted_choice(rng, [w for _, w in OWNERS], n)]
    activity = nones(n)
    if with_activity:
        # Most records were touched in the last months; a quarter went quiet years ago (stale).
        since = np.minimum(rng.exponential(60 * 86_400, n).astype(np.int64), age)
        stale = (rng.random(n) < 0.25) & (age > 2 * YEAR)
        since[stale] = 2 * YEAR + (rng.random(int(stale.sum())) * (age[stale] - 2 * YEAR)).astype(np.int64)
        never = rng.random(n) < 0.10
        touched = ~never
        activity[touched] = iso_timestamps(now - since[touched])
    return {
        "id": ids,
        "tenant": constant(n, tenant),
        "source_system_id": "hs-" + digits(source_ids, 10),
        "version": np.ones(n, dtype=np.int64),
        "created_at": iso_timestamps(created),
        "updated_at": iso_timestamps(updated),
        "last_activity_at": activity,
        "owner": owner,
        "status": constant(n, "active"),
        "merged_into": nones(n),
        "flags": constant(n, "[]"),
    }
