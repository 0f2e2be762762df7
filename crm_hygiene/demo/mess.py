"""How often each kind of mess hits a field, for original records and for duplicate copies."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm_hygiene.demo.truth import FieldTruthLog
from crm_hygiene.demo.vectors import Strings
from crm_hygiene.model.records import Entity

Shares = tuple[float, float]  # (share of original records, share of duplicate copies)


@dataclass(frozen=True)
class Mess:
    """Kinds of mess with their shares; the rest of the records keep the clean value.

    Duplicate copies are messier than originals: a second web-form fill or a list import is
    typed in a hurry, so typos and variants that never hit originals can be given a share.
    """

    kinds: dict[str, Shares]

    def __post_init__(self) -> None:
        for column in (0, 1):
            total = sum(shares[column] for shares in self.kinds.values())
            if total > 1.0 + 1e-9:
                raise ValueError(f"mess shares add up to {total:.3f} > 1: {self.kinds}")

    def draw(self, rng: np.random.Generator, is_copy: np.ndarray) -> Strings:
        """Per record, the kind of mess it gets (a key of `kinds`) or None when the value stays clean."""
        names = list(self.kinds)
        labels = np.array([*names, None], dtype=object)
        u = rng.random(len(is_copy))
        code = np.empty(len(is_copy), dtype=np.int64)
        for column, rows in ((0, ~is_copy), (1, is_copy)):
            cumulative = np.cumsum([self.kinds[name][column] for name in names])
            code[rows] = np.searchsorted(cumulative, u[rows], side="right")
        return labels[code]


@dataclass(frozen=True)
class RecordBatch:
    """Records of one entity being rendered: their ids, which are duplicate copies, where truth goes."""

    entity: Entity
    ids: Strings
    is_copy: np.ndarray
    rng: np.random.Generator
    log: FieldTruthLog

    def __len__(self) -> int:
        return len(self.ids)

    def mess(self, kinds: dict[str, Shares]) -> Strings:
        return Mess(kinds).draw(self.rng, self.is_copy)

    def record(
        self, field: str, true: Strings, stored: Strings, kinds: Strings, default_kind: str = "format"
    ) -> None:
        self.log.add(self.entity, self.ids, field, true, stored, kinds, default_kind)
