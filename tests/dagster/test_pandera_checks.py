"""Check metadata names the failing records and never shows an email or phone number in clear."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from crm_hygiene_dagster.assets.checks import evaluate_schema


def test_failure_sample_names_records_and_masks_pii() -> None:
    frame = pd.DataFrame(
        {"id": ["C1", "C2", "C3"], "email": ["ann@acme.com", "bob.stone@acme.com", "ok@acme.com"]}
    )
    schema = pa.DataFrameSchema(
        {"id": pa.Column(str), "email": pa.Column(str, pa.Check.str_startswith("ok"))},
        checks=[pa.Check(lambda df: df["id"] != "C2", name="no_c2")],
        name="t",
    )
    passed, metadata = evaluate_schema(schema, frame)
    assert passed is False
    assert metadata["failure_cases"].value == 3
    table = metadata["failure_sample"].value
    assert "ann@acme.com" not in table and "bob.stone@acme.com" not in table
    assert "a•••@acme.com" in table
    assert "| no_c2 " in table and "| C2 " in table
    assert sorted(metadata["failed_checks"].value) == ["no_c2", "str_startswith('ok')"]


def test_a_valid_frame_passes_with_zero_failure_cases() -> None:
    passed, metadata = evaluate_schema(
        pa.DataFrameSchema({"id": pa.Column(str)}), pd.DataFrame({"id": ["C1"]})
    )
    assert passed is True
    assert metadata["failure_cases"].value == 0
