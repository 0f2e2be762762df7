"""Vectorized string building over numpy object arrays: values are composed column by column, never row by row."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from string import Formatter

import numpy as np
import pandas as pd

Strings = np.ndarray  # 1-d numpy array of dtype object holding str (or None where a value is missing)

_SECONDS_PER_DAY = 86_400


def strings(values: Sequence[str | None] | np.ndarray) -> Strings:
    """A 1-d object array of the values (copies)."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values) if not isinstance(values, np.ndarray) else values
    return out


def constant(n: int, value: str | None) -> Strings:
    """`n` references to one value (np.full would make `n` copies of a string)."""
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def nones(n: int) -> Strings:
    return constant(n, None)


def choose(condition: np.ndarray, if_true: Strings | str, if_false: Strings | str) -> Strings:
    """Elementwise `if_true if condition else if_false`; either side may be one string."""
    n = len(condition)
    a = constant(n, if_true) if isinstance(if_true, str) else if_true
    b = constant(n, if_false) if isinstance(if_false, str) else if_false
    return np.where(condition, a, b)


@lru_cache(maxsize=8)
def _digit_table(width: int) -> Strings:
    return strings([f"{i:0{width}d}" for i in range(10**width)])


def digits(values: np.ndarray, width: int) -> Strings:
    """Zero-padded decimal strings of non-negative integers, exactly `width` digits (higher digits are cut)."""
    values = np.asarray(values, dtype=np.int64)
    out: Strings | None = None
    remaining = width
    while remaining > 0:
        chunk = min(4, remaining)
        part = _digit_table(chunk)[values % 10**chunk]
        out = part if out is None else part + out
        values = values // 10**chunk
        remaining -= chunk
    assert out is not None
    return out


def fill(template: str, size: int, /, **fields: Strings) -> Strings:
    """Fill a str.format-style template (`"({a}) {g0}-{g1}"`) with one array per placeholder."""
    out: Strings | str = ""
    for literal, name, _, _ in Formatter().parse(template):
        out = out + literal
        if name is not None:
            out = out + fields[name]
    return constant(size, out) if isinstance(out, str) else out


@lru_cache(maxsize=1)
def _time_of_day() -> Strings:
    return strings([f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(_SECONDS_PER_DAY)])


def iso_dates(days: np.ndarray) -> Strings:
    """ISO dates ("2024-03-05") of integer days since the Unix epoch."""
    days = np.asarray(days, dtype=np.int64)
    if len(days) == 0:
        return nones(0)
    first = int(days.min())
    span = np.arange(first, int(days.max()) + 1).astype("datetime64[D]")
    return np.datetime_as_string(span, unit="D").astype(object)[days - first]


def iso_timestamps(seconds: np.ndarray) -> Strings:
    """ISO-8601 UTC timestamps ("2024-03-05T12:34:56Z") of integer seconds since the Unix epoch."""
    seconds = np.asarray(seconds, dtype=np.int64)
    return iso_dates(seconds // _SECONDS_PER_DAY) + _time_of_day()[seconds % _SECONDS_PER_DAY]


def weighted_choice(rng: np.random.Generator, weights: Sequence[float], n: int) -> np.ndarray:
    """`n` indices drawn with the given (unnormalized) weights."""
    p = np.asarray(weights, dtype=float)
    cumulative = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cumulative, rng.random(n), side="right"), len(p) - 1)


def uniform_index(rng: np.random.Generator, sizes: np.ndarray) -> np.ndarray:
    """One index in `[0, size)` per row, each row with its own size (all sizes >= 1)."""
    return np.minimum((rng.random(len(sizes)) * sizes).astype(np.int64), np.asarray(sizes) - 1)


def typos(values: Strings, rng: np.random.Generator) -> Strings:
    """One keyboard slip per value (two letters swapped, one dropped or one doubled), never the first letter.

    Values shorter than four characters are returned unchanged.
    """
    n = len(values)
    if n == 0:
        return values.copy()
    fixed = np.asarray(values.astype(str))
    width = fixed.dtype.itemsize // 4
    codes = np.zeros((n, width + 1), dtype=np.uint32)
    codes[:, :width] = fixed.view(np.uint32).reshape(n, width)
    length = (codes != 0).sum(axis=1)
    at = (1 + rng.random(n) * np.maximum(length - 2, 1)).astype(np.int64)[:, None]
    op = rng.integers(0, 3, n)[:, None]
    cols = np.arange(width + 1)[None, :]
    source = np.broadcast_to(cols, codes.shape)
    source = np.where((op == 0) & (cols == at), at + 1, source)
    source = np.where((op == 0) & (cols == at + 1), at, source)
    source = np.where((op == 1) & (cols >= at), cols + 1, source)
    source = np.where((op == 2) & (cols > at), cols - 1, source)
    slipped = np.take_along_axis(codes, np.clip(source, 0, width), axis=1)
    out = np.ascontiguousarray(slipped).view(f"<U{width + 1}").reshape(n).astype(object)
    short = length < 4
    out[short] = values[short]
    return out


def whitespace(values: Strings, rng: np.random.Generator) -> Strings:
    """Stray blanks as they arrive from forms and spreadsheets: leading, trailing, both, or a tab."""
    pads = (("", " "), (" ", ""), ("  ", " "), ("", "\t"))
    which = rng.integers(0, len(pads), len(values))
    out = values.copy()
    for i, (before, after) in enumerate(pads):
        m = which == i
        out[m] = before + values[m] + after
    return out


def str_method(values: Strings, method: str, *args: object, **kwargs: object) -> Strings:
    """Apply a pandas `.str` method (upper, replace, ...) to the values."""
    result = getattr(pd.Series(values, dtype=object).str, method)(*args, **kwargs)
    return result.to_numpy(dtype=object)


def isnone(values: Strings) -> np.ndarray:
    """Elementwise `value is None` of an object array."""
    return np.equal(values, None)


def frame(
    columns: dict[str, np.ndarray | pd.Categorical], order: Sequence[str] | None = None
) -> pd.DataFrame:
    """A DataFrame over the given arrays, without copying them into one consolidated block.

    Each array must belong to this frame alone (a consolidating copy would double peak memory).
    """
    return pd.DataFrame(columns, columns=list(order or columns), copy=False)
