"""Stored values in comparable form, shared by every store (the judgement itself is in `changes`)."""

from __future__ import annotations

import math


def canonical(value: object) -> str | None:
    """The comparable form of a stored value: missing (None, NaN, empty) is None, the rest is text."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    text = str(value)
    return text if text != "" else None


def as_version(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None
