"""JSON encoding of values and evidence, shared by change ids and the ledger's text columns."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd


def _default(value: object) -> str:
    # Timestamps arrive from snapshots as datetime objects; ISO text keeps them comparable.
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON: {value!r}")


def dumps(value: Any) -> str:
    """Canonical JSON: sorted keys, no whitespace, so equal values always give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


# Text that JSON writes as it is between two quotes (`dumps` keeps non-ASCII as it is).
# fullmatch, not match with `$`, which would also accept a text ending in a newline.
_PLAIN_TEXT = r'[^"\\\x00-\x1f\x7f]*'


def dumps_many(values: pd.Series) -> pd.Series:
    """Each value as `dumps` encodes it (missing, None or NaN, is null), in one vectorized
    step for text JSON needs no escapes in, value by value for the rest."""
    present = values.notna()
    text = values[present]
    is_text = text.map(type).eq(str)
    plain = is_text & text.where(is_text, "").str.fullmatch(_PLAIN_TEXT)
    out = pd.Series("null", index=values.index, dtype=object)
    out[present[present].index[plain.to_numpy()]] = '"' + text[plain] + '"'
    rest = text[~plain]
    out[rest.index] = [dumps(v) for v in rest]
    return out


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def utc_now() -> datetime:
    return datetime.now(UTC)
