"""Take a tenant's snapshot from a store: typed, flagged, summarized."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pandas as pd

from crm_hygiene.model import Entity, spec
from crm_hygiene.model.snapshot import prepare_snapshot
from crm_hygiene.stores import RecordStore, StoreError


@dataclass(frozen=True)
class EntitySnapshot:
    entity: Entity
    frame: pd.DataFrame
    unknown_columns: list[str]

    def summary(self, top: int = 10) -> dict[str, object]:
        """Counts a RevOps lead can read: rows, malformed rows, the commonest reasons, statuses."""
        frame = self.frame
        reasons = (
            frame.loc[frame["malformed"], "issues"]
            .str.split("; ")
            .explode()
            .str.split(":")
            .str[0]
            .value_counts()
            if frame["malformed"].any()
            else pd.Series(dtype="int64")
        )
        return {
            "rows": len(frame),
            "malformed_rows": int(frame["malformed"].sum()),
            "malformed_by_field": {str(k): int(v) for k, v in reasons.head(top).items()},
            "status": {str(k): int(v) for k, v in frame["status"].value_counts(dropna=False).items()},
            "unknown_columns": self.unknown_columns,
        }


def iter_snapshot(
    store: RecordStore, tenant: str, *, progress: Callable[[str], None] | None = None
) -> Iterator[EntitySnapshot]:
    """Read and prepare one entity at a time, so a caller can write each and let it go
    (at a million records, holding all three raw and typed tables at once doubles the peak)."""
    if not tenant.strip():
        raise StoreError("tenant must not be empty")
    for entity in Entity:
        raw = store.snapshot(tenant, entity)
        fields = set(spec(entity).fields)
        unknown = [c for c in raw.columns if c not in fields]
        prepared = prepare_snapshot(entity, raw)
        del raw
        if progress:
            progress(
                f"snapshot {tenant}/{spec(entity).table}: {len(prepared)} rows, "
                f"{int(prepared['malformed'].sum())} malformed"
            )
        yield EntitySnapshot(entity, prepared, unknown)


def take_snapshot(
    store: RecordStore, tenant: str, *, progress: Callable[[str], None] | None = None
) -> dict[Entity, EntitySnapshot]:
    """Every entity of one tenant, typed and flagged; raises StoreError only if a store cannot be read."""
    return {snap.entity: snap for snap in iter_snapshot(store, tenant, progress=progress)}
