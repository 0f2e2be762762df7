"""Deterministic change ids: the same proposed change always gets the same id."""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import pyarrow.compute as pc

from crm_hygiene.ledger.codec import dumps, json_array

CHANGE_ID_LENGTH = 32


def make_change_id(tenant: str, entity: str, record_id: str, field: str, new_value: Any, kind: str) -> str:
    """First 32 hex chars of the sha256 of a JSON array of the inputs.

    A JSON array rather than joined text keeps the encoding unambiguous: no separator can be
    forged by a value, None (null) differs from "" and 1 differs from "1".
    """
    # StrEnum members encode as their plain value, so ChangeKind.ENRICH and "enrich" agree.
    payload = dumps([tenant, entity, record_id, field, new_value, kind])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:CHANGE_ID_LENGTH]


def make_change_ids(frame: pd.DataFrame) -> list[str]:
    """`make_change_id` of every row of `frame` (columns tenant, entity, record_id, field,
    new_value, kind), its JSON built vectorized: a run proposes millions of changes."""
    if frame.empty:
        return []
    parts = [json_array(frame[c]) for c in ("tenant", "entity", "record_id", "field", "new_value", "kind")]
    payload = pc.binary_join_element_wise("[", pc.binary_join_element_wise(*parts, ","), "]", "")
    return [hashlib.sha256(p.encode("utf-8")).hexdigest()[:CHANGE_ID_LENGTH] for p in payload.to_pylist()]
