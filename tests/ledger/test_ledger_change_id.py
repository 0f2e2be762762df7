"""Change ids are the ledger's idempotency key: stable across runs, different for any difference."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_hygiene.ledger import ChangeKind, make_change_id
from crm_hygiene.ledger.change_id import make_change_ids
from crm_hygiene.ledger.codec import dumps, dumps_many

BASE = ("acme", "contact", "c-1", "email", "ada@example.com", "standardize")


def test_same_inputs_give_the_same_id() -> None:
    assert make_change_id(*BASE) == make_change_id(*BASE)


def test_id_is_pinned_so_existing_ledgers_keep_matching() -> None:
    # Changing the encoding would orphan every change id already recorded.
    assert make_change_id(*BASE) == "5ee3a0055449e98a8596d178b99146a2"


def test_id_is_32_lowercase_hex_characters() -> None:
    change_id = make_change_id(*BASE)
    assert len(change_id) == 32
    assert set(change_id) <= set("0123456789abcdef")


@pytest.mark.parametrize(
    ("position", "other"),
    [(0, "globex"), (1, "company"), (2, "c-2"), (3, "phone"), (4, "ada@example.org"), (5, "enrich")],
    ids=["tenant", "entity", "record_id", "field", "new_value", "kind"],
)
def test_every_input_changes_the_id(position: int, other: str) -> None:
    changed = list(BASE)
    changed[position] = other
    assert make_change_id(*changed) != make_change_id(*BASE)


@pytest.mark.parametrize(
    ("left", "right"),
    [(None, ""), (1, "1"), (1, 1.5), (True, 1), ([1, 2], "[1, 2]"), ({"a": 1}, {"a": 2})],
)
def test_new_values_of_different_type_or_content_differ(left: object, right: object) -> None:
    def change_id(value: object) -> str:
        return make_change_id("acme", "contact", "c-1", "email", value, "standardize")

    assert change_id(left) != change_id(right)


def test_boundaries_between_inputs_cannot_be_forged() -> None:
    assert make_change_id("ab", "c", "r", "f", "v", "flag") != make_change_id(
        "a", "bc", "r", "f", "v", "flag"
    )
    assert make_change_id("a", "b", "r|f", "x", "v", "flag") != make_change_id(
        "a", "b", "r", "f|x", "v", "flag"
    )


def test_enum_kind_and_its_text_agree() -> None:
    assert make_change_id(*BASE[:5], ChangeKind.STANDARDIZE) == make_change_id(*BASE)


def test_dict_new_value_is_independent_of_key_order() -> None:
    first = make_change_id("acme", "contact", "c-1", "merge", {"a": 1, "b": 2}, "merge")
    second = make_change_id("acme", "contact", "c-1", "merge", {"b": 2, "a": 1}, "merge")
    assert first == second


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(min_size=1),
            st.text(min_size=1),
            st.text(min_size=1),
            st.one_of(st.none(), st.text(), st.integers()),
            st.sampled_from(list(ChangeKind)),
        ),
        max_size=20,
    )
)
def test_change_ids_in_bulk_are_the_ids_one_at_a_time(rows: list[tuple]) -> None:
    # A run names millions of changes at once; the ids must be the ones the writer and the
    # review queue derive one by one, or the same change would be two.
    frame = pd.DataFrame(
        [("acme", e, r, f, n, k) for e, r, f, n, k in rows],
        columns=["tenant", "entity", "record_id", "field", "new_value", "kind"],
        dtype=object,
    )
    assert make_change_ids(frame) == [make_change_id("acme", e, r, f, n, k) for e, r, f, n, k in rows]


def test_text_needing_escapes_is_encoded_like_dumps() -> None:
    # A trailing newline once passed for text with nothing to escape.
    values = pd.Series(
        ["line\n", 'say "hi"', "back\\slash", "é", "\x7f", None, float("nan"), 3], dtype=object
    )
    expected = [dumps(None if isinstance(v, float) else v) for v in values]
    assert dumps_many(values).tolist() == expected
