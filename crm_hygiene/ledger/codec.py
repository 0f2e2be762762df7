"""JSON encoding of values and evidence, shared by change ids and the ledger's text columns."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _default(value: object) -> str:
    # Timestamps arrive from snapshots as datetime objects; ISO text keeps them comparable.
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON: {value!r}")


def dumps(value: Any) -> str:
    """Canonical JSON: sorted keys, no whitespace, so equal values always give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


# Text that JSON writes as it is between two quotes (`dumps` keeps non-ASCII as it is). RE2's
# `$` is the end of the text only, where Python's would also accept a text ending in "\n".
_PLAIN_TEXT = r'^[^"\\\x00-\x1f\x7f]*$'


def dumps_many(values: pd.Series) -> pd.Series:
    """Each value as `dumps` encodes it (missing, None or NaN, is null), vectorized for text
    JSON needs no escapes in, value by value for the rest."""
    return pd.Series(json_array(values).to_numpy(zero_copy_only=False), index=values.index, dtype=object)


def json_array(values: pd.Series) -> pa.Array:
    """`dumps_many` as an Arrow string array: Arrow's kernels quote and test the text."""
    objects = values.to_numpy(dtype=object)
    try:
        text = pa.array(objects, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Numbers, mappings, dates among the values: each one encoded on its own.
        present = pd.notna(objects)
        return pa.array([dumps(v) if p else "null" for v, p in zip(objects, present, strict=True)])
    plain = pc.fill_null(pc.match_substring_regex(text, _PLAIN_TEXT), True)
    out = pc.fill_null(pc.binary_join_element_wise('"', text, '"', ""), "null")
    escaped = np.flatnonzero(~plain.to_numpy(zero_copy_only=False))
    if len(escaped) == 0:
        return out
    encoded = out.to_numpy(zero_copy_only=False)
    encoded[escaped] = [dumps(str(objects[i])) for i in escaped]
    return pa.array(encoded, type=pa.string())


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def utc_now() -> datetime:
    return datetime.now(UTC)
