"""The contract every field normalizer keeps, and the per-distinct-value engine they share.

A normalizer takes a column (and optionally a context column, such as the record's country)
and returns a frame aligned to the input index with at least these columns:

- `value`: the canonical value (None when the input is missing or cannot be normalized);
- `valid`: True, False, or None when the input is missing;
- `reason`: why the input is invalid (None when valid or missing);
- `rule`: the name of the rule that changed the input (None when the canonical value equals
  the input, or the input is invalid or missing);
- `confidence`: how sure the change is right, in [0, 1] (1.0 when nothing changed);

plus columns of its own (match keys, parts, types), documented in its module.

Most CRM values repeat (countries, company names, domains), so the expensive parser runs
once per distinct (value, context) pair and the results are broadcast back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from crm_hygiene.normalize.workers import map_values

BASE_COLUMNS: tuple[str, ...] = ("value", "valid", "reason", "rule", "confidence")

# Longer inputs are not parsed (they are flagged upstream in the snapshot); parsers are not
# built for pasted documents and some degrade badly on them.
MAX_PARSE_CHARS = 1000

Result = Mapping[str, Any]


def missing(extra: Sequence[str] = ()) -> dict[str, Any]:
    """The result for a missing input."""
    return {
        "value": None,
        "valid": None,
        "reason": None,
        "rule": None,
        "confidence": 1.0,
        **dict.fromkeys(extra),
    }


def invalid(reason: str, extra: Sequence[str] = (), **known: Any) -> dict[str, Any]:
    """The result for an input that cannot be normalized: kept out of `value`, reason given."""
    out = {"value": None, "valid": False, "reason": reason, "rule": None, "confidence": 0.0}
    out.update(dict.fromkeys(extra))
    out.update(known)
    return out


def changed(original: str, value: str, rule: str, confidence: float, **extra: Any) -> dict[str, Any]:
    """A valid result; `rule` and `confidence` only apply when the value differs from the input."""
    if value == original:
        return {"value": value, "valid": True, "reason": None, "rule": None, "confidence": 1.0, **extra}
    return {"value": value, "valid": True, "reason": None, "rule": rule, "confidence": confidence, **extra}


def per_distinct(
    values: pd.Series,
    normalize_one: Callable[..., Result],
    columns: Sequence[str],
    *,
    context: pd.Series | None = None,
) -> pd.DataFrame:
    """Run `normalize_one(text)` (or `normalize_one(text, context)`) once per distinct input.

    Missing inputs (None, NaN, empty or blank text) get `missing(...)` without a call. Inputs
    longer than MAX_PARSE_CHARS are invalid without a call. Large batches run on the worker
    pool when one is open (see `crm_hygiene.normalize.workers`).
    """
    extra = [c for c in columns if c not in BASE_COLUMNS]
    text = values.astype(object).where(values.notna(), None)
    # A scan in C says whether anything but text is there; only then is each value spelled out.
    if pd.api.types.infer_dtype(text, skipna=True) not in ("string", "empty"):
        text = text.map(lambda v: v if v is None or isinstance(v, str) else str(v))
    # Each row's code names its distinct (value, context) pair; factorizing is vectorized.
    value_codes, value_uniques = factorize_values(text.to_numpy(dtype=object))
    if context is None:
        codes, pairs = value_codes, [(v, None) for v in value_uniques]
    else:
        hint = context.astype(object).where(context.notna(), None).to_numpy(dtype=object)
        context_codes, context_uniques = factorize_values(hint)
        codes, pair_codes = pd.factorize(value_codes.astype(np.int64) * len(context_uniques) + context_codes)
        pairs = [
            (value_uniques[code // len(context_uniques)], context_uniques[code % len(context_uniques)])
            for code in pair_codes.tolist()
        ]
    results: list[tuple[Any, ...] | None] = [None] * len(pairs)
    todo: list[int] = []
    for position, (v, _) in enumerate(pairs):
        if v is None or v.strip() == "":
            results[position] = _row(missing(extra), columns)
        elif len(v) > MAX_PARSE_CHARS:
            results[position] = _row(invalid(f"{len(v)} characters: too long to parse", extra), columns)
        else:
            todo.append(position)
    call = partial(_call, normalize_one, tuple(columns), context is not None)
    for position, row in zip(todo, map_values(call, [pairs[p] for p in todo]), strict=True):
        results[position] = row
    table = pd.DataFrame(results, columns=list(columns), dtype=object)
    table = table.where(table.notna(), None)
    out = table.take(codes)
    out.index = values.index
    return out.assign(confidence=out["confidence"].astype(float))


def factorize_values(values: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """(code per item, distinct items), None being an item of its own.

    Arrow compares whole strings; pandas' factorize stops comparing text at a NUL character
    (pandas-dev/pandas#34551), which would give "Acme\x00Corp" the result of "Acme".
    """
    try:
        encoded = pa.array(values, type=pa.string(), from_pandas=True).dictionary_encode()
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        # Not all text (codes given as other objects) or not encodable (lone surrogates).
        seen: dict[Any, int] = {}
        codes = np.fromiter(
            (seen.setdefault(v, len(seen)) for v in values), dtype=np.int64, count=len(values)
        )
        return codes, list(seen)
    distinct = encoded.dictionary.to_pylist()
    codes = encoded.indices.fill_null(len(distinct)).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, [*distinct, None]


def _row(result: Result, columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(result.get(column) for column in columns)


def _call(
    normalize_one: Callable[..., Result], columns: tuple[str, ...], with_context: bool, text: str, hint: Any
) -> tuple[Any, ...]:
    # Module-level (not a closure) so the worker pool can pickle it; rows travel as tuples.
    return _row(normalize_one(text, hint) if with_context else normalize_one(text), columns)
