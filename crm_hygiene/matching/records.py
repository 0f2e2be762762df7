"""One entity's records of a tenant as the matching steps read them, and the entity order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from crm_hygiene.model.records import Entity, Status

Progress = Callable[[str], None]

# Companies before contacts: contact matching and survivorship read the company merges.
ENTITIES: tuple[Entity, ...] = (Entity.COMPANY, Entity.CONTACT)


def quiet(_: str) -> None:
    """A progress callback that says nothing."""


@dataclass(frozen=True)
class EntityRecords:
    """One entity's records of a tenant: the typed snapshot and the normalized frame.

    The pair step needs only `id` and `updated_at` of the snapshot; survivorship needs all of it.
    """

    entity: Entity
    snapshot: pd.DataFrame
    normalized: pd.DataFrame
    # When a person last changed each field (`model.field_changes.changed_at_frame`), for
    # survivorship; None where untracked (the record's updated_at then stands for its fields).
    changed_at: pd.DataFrame | None = None

    def live(self) -> pd.DataFrame:
        """Normalized rows of records not merged away, with the snapshot's `updated_at`."""
        frame = self.normalized
        live = frame[frame["status"].astype(object) != Status.MERGED.value].copy()
        if "updated_at" in self.snapshot.columns and "updated_at" not in live.columns:
            updated = self.snapshot.set_index(self.snapshot["id"].astype(str))["updated_at"]
            live["updated_at"] = live["id"].astype(str).map(updated)
        return live.reset_index(drop=True)
