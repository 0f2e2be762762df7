"""Deterministic change ids: the same proposed change always gets the same id."""

from __future__ import annotations

import hashlib
from typing import Any

from crm_hygiene.ledger.codec import dumps

CHANGE_ID_LENGTH = 32


def make_change_id(tenant: str, entity: str, record_id: str, field: str, new_value: Any, kind: str) -> str:
    """First 32 hex chars of the sha256 of a JSON array of the inputs.

    A JSON array rather than joined text keeps the encoding unambiguous: no separator can be
    forged by a value, None (null) differs from "" and 1 differs from "1".
    """
    # StrEnum members encode as their plain value, so ChangeKind.ENRICH and "enrich" agree.
    payload = dumps([tenant, entity, record_id, field, new_value, kind])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:CHANGE_ID_LENGTH]
