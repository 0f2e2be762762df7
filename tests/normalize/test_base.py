"""The per-distinct-value engine: one call per distinct (value, context), results back on every row."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from crm_hygiene.normalize.base import factorize_values, per_distinct

COLUMNS = ("value", "valid", "reason", "rule", "confidence")


def _upper(text: str, hint: object = None) -> dict[str, object]:
    value = text.upper() + ("" if hint is None else f"/{hint}")
    rule = None if value == text else "upper"
    return {"value": value, "valid": True, "reason": None, "rule": rule, "confidence": 0.9 if rule else 1.0}


def test_text_differing_after_a_nul_character_is_not_confused() -> None:
    values = pd.Series(["Acme\x00 Widgets", "Acme", "\x00", "", None, "Acme"])
    out = per_distinct(values, _upper, COLUMNS)
    assert out["value"].tolist() == ["ACME\x00 WIDGETS", "ACME", "\x00", None, None, "ACME"]
    assert out["valid"].tolist() == [True, True, True, None, None, True]


def test_each_distinct_value_and_context_is_read_once_and_every_row_gets_its_own() -> None:
    calls: list[tuple[str, object]] = []

    def spy(text: str, hint: object) -> dict[str, object]:
        calls.append((text, hint))
        return _upper(text, hint)

    values = pd.Series(["a", "a", "b", "a", None], index=[10, 11, 12, 13, 14])
    hints = pd.Series(["X", "Y", "X", "X", "X"], index=values.index)
    out = per_distinct(values, spy, COLUMNS, context=hints)
    assert sorted(calls) == [("a", "X"), ("a", "Y"), ("b", "X")]
    assert out["value"].tolist() == ["A/X", "A/Y", "B/X", "A/X", None]
    assert list(out.index) == [10, 11, 12, 13, 14]
    assert out["confidence"].dtype == float


def test_text_arrow_cannot_hold_is_still_factorized() -> None:
    codes, distinct = factorize_values(np.array(["\ud800x", "a", "\ud800x", None], dtype=object))
    assert codes.tolist() == [0, 1, 0, 2]
    assert distinct == ["\ud800x", "a", None]


@given(st.lists(st.one_of(st.none(), st.text(max_size=6)), max_size=30))
def test_factorizing_round_trips(items: list[str | None]) -> None:
    codes, distinct = factorize_values(np.array(items, dtype=object))
    assert [distinct[c] for c in codes] == items
    assert len({distinct[c] for c in set(codes.tolist())}) == len(set(codes.tolist()))


def test_values_that_are_not_text_are_spelled_out_before_parsing() -> None:
    out = per_distinct(pd.Series([12345, "ab", None, 2.5], dtype=object), _upper, COLUMNS)
    assert out["value"].tolist() == ["12345", "AB", None, "2.5"]
