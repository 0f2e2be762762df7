"""Preparing frames of new records for a store: defaults, text values, clear errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from crm_hygiene.model import Entity, Status, spec
from crm_hygiene.stores.protocol import StoreError


def utc_now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def prepare_new_records(tenant: str, entity: Entity, records: pd.DataFrame) -> pd.DataFrame:
    """Canonical columns with defaults for bookkeeping fields; values as text or None.

    Raises StoreError naming the offending ids when ids are missing or repeated.
    """
    entity_spec = spec(entity)
    if "id" not in records.columns:
        raise StoreError(f"{entity} records need an 'id' column; got columns {list(records.columns)}")
    frame = records.copy()
    ids = frame["id"]
    if ids.isna().any() or (ids.astype(str).str.strip() == "").any():
        rows = list(frame.index[ids.isna() | (ids.astype(str).str.strip() == "")][:5])
        raise StoreError(f"{entity} records at rows {rows} have no id")
    repeated = ids[ids.duplicated()].astype(str).unique()
    if len(repeated):
        raise StoreError(f"{entity} ids repeated in the input: {', '.join(repeated[:10])}")
    now = utc_now_text()
    defaults = {
        "tenant": tenant,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "status": Status.ACTIVE.value,
        "flags": "[]",
    }
    for name in entity_spec.fields:
        if name not in frame.columns:
            frame[name] = defaults.get(name)
        elif name in defaults:
            frame[name] = frame[name].where(frame[name].notna(), defaults[name])
    frame["tenant"] = tenant
    frame["version"] = pd.to_numeric(frame["version"], errors="coerce").fillna(1).astype("int64")
    for name in entity_spec.fields:
        if name != "version":
            col = frame[name]
            frame[name] = col.astype(object).where(col.notna(), None)
            mask = frame[name].notna()
            frame.loc[mask, name] = frame.loc[mask, name].astype(str)
    return frame
