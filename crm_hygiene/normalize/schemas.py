"""Pandera schema of a normalized table: what every downstream step may rely on."""

from __future__ import annotations

import pandera.pandas as pa

from crm_hygiene.model import Entity


def normalized_schema(entity: Entity) -> pa.DataFrameSchema:
    """Keys present and unique; per field a canonical value only where valid, confidences in [0, 1]."""
    return pa.DataFrameSchema(
        {
            "id": pa.Column(str, nullable=False, unique=True),
            "tenant": pa.Column(str, nullable=False),
            "version": pa.Column("Int64", nullable=True),
            r".+_valid$": pa.Column("boolean", nullable=True, regex=True),
            r".+_confidence$": pa.Column(float, pa.Check.in_range(0.0, 1.0), nullable=True, regex=True),
        },
        checks=[
            pa.Check(_invalid_values_are_empty, name="invalid_fields_have_no_canonical_value"),
            pa.Check(_invalid_values_say_why, name="invalid_fields_say_why"),
        ],
        strict=False,
        name=f"normalized_{entity.value}",
    )


def _fields(df) -> list[str]:
    return [
        c[: -len("_valid")] for c in df.columns if c.endswith("_valid") and c[: -len("_valid")] in df.columns
    ]


def _invalid_values_are_empty(df):
    ok = None
    for name in _fields(df):
        row_ok = ~df[f"{name}_valid"].eq(False).fillna(False) | df[name].isna()
        ok = row_ok if ok is None else ok & row_ok
    return ok if ok is not None else df["id"].notna()


def _invalid_values_say_why(df):
    ok = None
    for name in _fields(df):
        if f"{name}_reason" not in df:
            continue
        row_ok = ~df[f"{name}_valid"].eq(False).fillna(False) | df[f"{name}_reason"].notna()
        ok = row_ok if ok is None else ok & row_ok
    return ok if ok is not None else df["id"].notna()
