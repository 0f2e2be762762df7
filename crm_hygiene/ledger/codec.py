"""JSON encoding of values and evidence, shared by change ids and the ledger's text columns."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any


def _default(value: object) -> str:
    # Timestamps arrive from snapshots as datetime objects; ISO text keeps them comparable.
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON: {value!r}")


def dumps(value: Any) -> str:
    """Canonical JSON: sorted keys, no whitespace, so equal values always give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def utc_now() -> datetime:
    return datetime.now(UTC)
