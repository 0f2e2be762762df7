"""Turn a pandera schema into a blocking asset check whose failure cases show in the UI."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pandera.errors
import pandera.pandas as pa

from crm_hygiene.pii import mask_pii

# Enough failure cases to diagnose, few enough to render in the check's metadata panel.
MAX_FAILURE_ROWS = 25


def failure_sample(cases: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """One line per failing check and record: which record (by id), which column, which value.

    A frame-wide check reports every column of a failing row; one line per row is enough.
    Values are masked, since failure cases quote record values.
    """
    frame_wide = cases["schema_context"].astype(str) == "DataFrameSchema"
    out = cases.loc[~frame_wide, ["check", "column", "index", "failure_case"]].copy()
    rows = cases.loc[frame_wide, ["check", "index"]].drop_duplicates()
    rows = rows.assign(column="(row)", failure_case="")
    out = pd.concat([out, rows[["check", "column", "index", "failure_case"]]], ignore_index=True)
    ids = frame["id"] if "id" in frame.columns else pd.Series(dtype=object)
    out["record"] = out["index"].map(lambda i: ids.get(i) if i is not None and not pd.isna(i) else None)
    out["value"] = out["failure_case"].astype(str).map(mask_pii)
    return out[["check", "column", "record", "index", "value"]].astype(str)


def evaluate_schema(
    schema: pa.DataFrameSchema, frame: pd.DataFrame
) -> tuple[bool, dict[str, dg.MetadataValue]]:
    """Validate lazily and describe the result as Dagster metadata."""
    try:
        schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as err:
        cases = err.failure_cases
        sample = failure_sample(cases, frame)
        return False, {
            "schema": dg.MetadataValue.text(schema.name or ""),
            "rows": dg.MetadataValue.int(len(frame)),
            "failure_cases": dg.MetadataValue.int(len(sample)),
            "failed_checks": dg.MetadataValue.json(sorted(cases["check"].astype(str).unique().tolist())),
            "failure_sample": dg.MetadataValue.md(sample.head(MAX_FAILURE_ROWS).to_markdown(index=False)),
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


def merge_evaluations(
    parts: list[tuple[bool, dict[str, dg.MetadataValue]]],
) -> tuple[bool, dict[str, dg.MetadataValue]]:
    """One evaluation of a table validated in parts: rows and failure cases summed, failed
    checks united, the first failing part's sample kept."""
    passed = all(ok for ok, _ in parts)
    metadata = dict(parts[0][1])
    metadata["rows"] = dg.MetadataValue.int(sum(int(meta["rows"].value) for _, meta in parts))
    metadata["failure_cases"] = dg.MetadataValue.int(
        sum(int(meta["failure_cases"].value) for _, meta in parts)
    )
    failed = sorted({c for _, meta in parts if "failed_checks" in meta for c in meta["failed_checks"].value})
    if failed:
        metadata["failed_checks"] = dg.MetadataValue.json(failed)
        metadata["failure_sample"] = next(meta["failure_sample"] for ok, meta in parts if not ok)
    return passed, metadata
