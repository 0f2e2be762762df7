"""Turn a pandera schema into a blocking asset check whose failure cases show in the UI."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pandera.errors
import pandera.pandas as pa

# Enough failure cases to diagnose, few enough to render in the check's metadata panel.
MAX_FAILURE_ROWS = 25


def evaluate_schema(
    schema: pa.DataFrameSchema, frame: pd.DataFrame
) -> tuple[bool, dict[str, dg.MetadataValue]]:
    """Validate lazily and describe the result as Dagster metadata."""
    try:
        schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as err:
        cases = err.failure_cases
        shown = cases.head(MAX_FAILURE_ROWS).astype(str)
        return False, {
            "schema": dg.MetadataValue.text(schema.name or ""),
            "rows": dg.MetadataValue.int(len(frame)),
            "failure_cases": dg.MetadataValue.int(len(cases)),
            "failed_checks": dg.MetadataValue.json(sorted(cases["check"].astype(str).unique().tolist())),
            "failure_sample": dg.MetadataValue.md(shown.to_markdown(index=False)),
        }
    return True, {
        "schema": dg.MetadataValue.text(schema.name or ""),
        "rows": dg.MetadataValue.int(len(frame)),
        "failure_cases": dg.MetadataValue.int(0),
    }


def combine(results: list[tuple[bool, dict[str, dg.MetadataValue]]], names: list[str]) -> dg.AssetCheckResult:
    """One check result for several tables: passes only if every table passed."""
    metadata: dict[str, dg.MetadataValue] = {}
    for name, (_, meta) in zip(names, results, strict=True):
        for key, value in meta.items():
            metadata[f"{name}.{key}"] = value
    return dg.AssetCheckResult(passed=all(ok for ok, _ in results), metadata=metadata)
