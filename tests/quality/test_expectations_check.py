"""The asset check runs the suite on the suite's own columns read from the warehouse: the same
outcome as on the whole table, and a bad table still fails the blocking check."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from crm_hygiene import tables
from crm_hygiene.model import Entity
from crm_hygiene.quality.expectations import SUITE_COLUMNS, run_normalized_suite
from crm_hygiene.warehouse import write_table
from crm_hygiene_dagster.assets.standardize import normalized_records_expectations
from crm_hygiene_dagster.resources import WarehouseResource

TENANT = "acme"


def _normalized(entity: Entity, *, bad: bool) -> pd.DataFrame:
    n = 40
    frame = pd.DataFrame(
        {
            "id": [f"R{i:03d}" for i in range(n)],
            "tenant": TENANT,
            "version": pd.array(range(1, n + 1), dtype="Int64"),
            "first_name": ["Ann"] * n,
            "email": [f"person{i}@acme.com" for i in range(n)],
            "email_valid": pd.array([True] * n, dtype="boolean"),
            "country": ["US", "DE"] * (n // 2),
            "country_valid": pd.array([True] * n, dtype="boolean"),
            "phone_e164": ["+14155550134"] * n,
            "phone_valid": pd.array([True, None] * (n // 2), dtype="boolean"),
            "website_valid": pd.array([None] * n, dtype="boolean"),
        }
    )
    if entity is Entity.CONTACT:
        frame["seniority"] = "vp"
    if bad:
        frame.loc[1, "id"] = "R000"
        frame.loc[2, "country"] = "XX"
        frame.loc[3, "phone_e164"] = "0301234 ann@acme.com"
        frame["email_valid"] = pd.array([False] * (n - 1) + [True], dtype="boolean")
        if entity is Entity.CONTACT:
            frame.loc[4, "seniority"] = "boss"
    return frame


def _warehouse(tmp_path: Path, *, bad: bool) -> str:
    path = str(tmp_path / "warehouse.duckdb")
    with duckdb.connect(path) as conn:
        for entity in Entity:
            write_table(conn, TENANT, tables.normalized(entity), _normalized(entity, bad=bad))
    return path


@pytest.mark.parametrize("bad", [False, True])
def test_the_suite_columns_give_the_outcome_of_the_whole_table(tmp_path: Path, bad: bool) -> None:
    with duckdb.connect(_warehouse(tmp_path, bad=bad)) as conn:
        for entity in (Entity.CONTACT, Entity.COMPANY):
            whole = tables.read_normalized(conn, TENANT, entity)
            some = tables.read_normalized(conn, TENANT, entity, columns=SUITE_COLUMNS)
            assert set(some.columns) < set(whole.columns)
            assert ("seniority" in some.columns) == (entity is Entity.CONTACT)
            assert run_normalized_suite(entity, some) == run_normalized_suite(entity, whole)
            assert run_normalized_suite(entity, some).success is not bad


def _evaluate(warehouse: str) -> dg.AssetCheckResult:
    """The blocking check on one tenant's partition, as the nightly job runs it."""
    context = dg.build_op_context(
        partition_key=TENANT, resources={"warehouse": WarehouseResource(database=warehouse)}
    )
    return normalized_records_expectations(context)


def test_the_check_fails_on_bad_data_with_masked_samples(tmp_path: Path) -> None:
    evaluation = _evaluate(_warehouse(tmp_path, bad=True))
    assert evaluation.passed is False
    failed = evaluation.metadata["contacts.failed"].value
    found = {(f["expectation"], f["column"]) for f in failed}
    assert found == {
        ("expect_column_values_to_be_unique", "id"),
        ("expect_column_values_to_be_in_set", "country"),
        ("expect_column_values_to_match_regex", "phone_e164"),
        ("expect_column_values_to_be_in_set", "seniority"),
        ("expect_column_mean_to_be_between", "email_valid"),
    }
    phone = next(f for f in failed if f["column"] == "phone_e164")
    assert phone["unexpected"] == 1
    assert (
        phone["sample"] and "0301234" not in phone["sample"][0] and "ann@acme.com" not in phone["sample"][0]
    )
    assert evaluation.metadata["step_seconds"].value > 0


def test_the_check_passes_on_good_data(tmp_path: Path) -> None:
    evaluation = _evaluate(_warehouse(tmp_path, bad=False))
    assert evaluation.passed is True
    assert evaluation.metadata["contacts.failed"].value == []
