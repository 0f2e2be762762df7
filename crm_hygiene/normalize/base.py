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
from typing import Any

import pandas as pd

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
    longer than MAX_PARSE_CHARS are invalid without a call.
    """
    extra = [c for c in columns if c not in BASE_COLUMNS]
    text = values.astype(object).where(values.notna(), None)
    text = text.map(lambda v: v if v is None or isinstance(v, str) else str(v))
    keys = pd.DataFrame(
        {"v": text, "c": context.astype(object).where(context.notna(), None) if context is not None else None}
    )
    distinct = keys.drop_duplicates()
    results: list[dict[str, Any]] = []
    for v, c in zip(distinct["v"], distinct["c"], strict=True):
        if v is None or v.strip() == "":
            results.append(missing(extra))
        elif len(v) > MAX_PARSE_CHARS:
            results.append(invalid(f"{len(v)} characters: too long to parse", extra))
        else:
            results.append(dict(normalize_one(v, c) if context is not None else normalize_one(v)))
    table = pd.DataFrame(
        results, columns=list(columns), index=pd.MultiIndex.from_frame(distinct.astype(object))
    )
    looked_up = table.reindex(pd.MultiIndex.from_frame(keys.astype(object)))
    looked_up.index = values.index
    return (
        looked_up.astype(object)
        .where(looked_up.notna(), None)
        .assign(confidence=looked_up["confidence"].astype(float))
    )
