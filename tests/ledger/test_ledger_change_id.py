"""Change ids are the ledger's idempotency key: stable across runs, different for any difference."""

from __future__ import annotations

import pytest

from crm_hygiene.ledger import ChangeKind, make_change_id

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
