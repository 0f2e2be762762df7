"""The Great Expectations suite for normalized tables passes on good data and names what is wrong."""

from __future__ import annotations

import pandas as pd

from crm_hygiene.model import Entity
from crm_hygiene.quality.expectations import (
    ROWS,
    TABLE,
    TABLE_COLUMNS,
    combine_outcomes,
    run_normalized_suite,
)


def _frame(**overrides: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "id": ["C1", "C2", "C3", "C4"],
        "tenant": ["t"] * 4,
        "country": ["US", "DE", "GB", None],
        "phone_e164": ["+14155550134", "+493012345678", None, None],
        "seniority": ["vp", "manager", "unknown", None],
        "email": ["ann@acme.com", "bob@acme.de", None, None],
        "email_valid": pd.array([True, True, False, None], dtype="boolean"),
    }
    base.update(overrides)
    return pd.DataFrame(base)


def test_a_clean_normalized_table_passes() -> None:
    outcome = run_normalized_suite(Entity.CONTACT, _frame())
    assert outcome.success, outcome.failures()
    assert len(outcome.outcomes) >= 6


def test_failures_name_the_expectation_the_column_and_masked_values() -> None:
    frame = _frame(
        id=["C1", "C1", "C3", "C4"],
        country=["US", "XX", "GB", None],
        phone_e164=["+14155550134", "0301234", None, None],
        email_valid=pd.array([False, False, False, True], dtype="boolean"),
    )
    outcome = run_normalized_suite(Entity.CONTACT, frame)
    assert not outcome.success
    failed = {(o.expectation, o.column) for o in outcome.failures()}
    assert ("expect_column_values_to_be_unique", "id") in failed
    assert ("expect_column_values_to_be_in_set", "country") in failed
    assert ("expect_column_values_to_match_regex", "phone_e164") in failed
    assert ("expect_column_mean_to_be_between", "email_valid") in failed
    phone = next(o for o in outcome.failures() if o.column == "phone_e164")
    assert phone.unexpected_count == 1
    assert phone.sample and "0301234" not in phone.sample[0]


def test_the_suite_splits_into_row_expectations_and_table_expectations() -> None:
    # An incremental run checks the rows it wrote for each row's values, and the whole table
    # (a few narrow columns) for what only the whole can show: a repeated id, validity rates.
    frame = _frame(
        id=["C1", "C1", "C3", "C4"],
        country=["US", "XX", "GB", None],
        email_valid=pd.array([False, False, False, True], dtype="boolean"),
    )
    whole = run_normalized_suite(Entity.CONTACT, frame)
    rows = run_normalized_suite(Entity.CONTACT, frame, frozenset({ROWS}))
    table = run_normalized_suite(Entity.CONTACT, frame[list(TABLE_COLUMNS[:2])], frozenset({TABLE}))
    failed = {(o.expectation, o.column) for o in rows.failures()}
    assert failed == {("expect_column_values_to_be_in_set", "country")}
    failed = {(o.expectation, o.column) for o in table.failures()}
    assert failed == {
        ("expect_column_values_to_be_unique", "id"),
        ("expect_column_mean_to_be_between", "email_valid"),
    }
    combined = combine_outcomes(rows, table)
    assert not combined.success
    assert sorted(o.expectation for o in combined.outcomes) == sorted(o.expectation for o in whole.outcomes)
