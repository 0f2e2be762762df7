"""Great Expectations (1.x) suites for the normalized tables, run on an in-memory DataFrame.

A suite guards what normalization promises: unique ids, canonical code sets, E.164 phones,
and validity rates that collapse only when a parser or a source breaks. The thresholds are
deliberately low: a messy CRM is expected, a broken pipeline is not.

The suite runs on pandas, given only the columns it reads (`SUITE_COLUMNS`): GX 1.24 has no
DuckDB backend, and its generic SQL data source fails on DuckDB through duckdb-engine (every
bundled metric comes back empty, great_expectations issue 11579; schema names are dropped; a
second engine on the warehouse file clashes with the run's open connection). A handful of
columns instead of the whole normalized table is most of what validating in the database
would save.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import cache
from typing import Any

import pandas as pd
import pycountry

from crm_hygiene.model import Entity
from crm_hygiene.pii import mask_pii

SENIORITIES = ("c_level", "vp", "director", "manager", "individual_contributor", "owner_founder", "unknown")
# Below these shares of valid values among present ones, normalization itself is suspect.
MIN_VALID_SHARE = {"email": 0.5, "phone": 0.5, "country": 0.5, "website": 0.5}
# Every column an expectation below reads; a table lacking one simply skips its expectation.
SUITE_COLUMNS: tuple[str, ...] = (
    "id",
    "country",
    "phone_e164",
    "seniority",
    *(f"{name}_valid" for name in MIN_VALID_SHARE),
)


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int | None
    observed: Any
    sample: list[str]


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    success: bool
    outcomes: list[ExpectationOutcome]

    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]


@cache
def _country_codes() -> list[str]:
    return sorted(c.alpha_2 for c in pycountry.countries)


# What a suite covers: expectations on each row's values, or on the table as a whole (an id
# repeated, validity rates). An incremental run checks its own rows for the first and the
# whole table, a few narrow columns, for the second.
ROWS, TABLE = "rows", "table"
TABLE_COLUMNS = ("id", *(f"{name}_valid" for name in MIN_VALID_SHARE))


def _expectations(
    entity: Entity, frame: pd.DataFrame, parts: frozenset[str] = frozenset({ROWS, TABLE})
) -> list[Any]:
    import great_expectations.expectations as gxe

    rows, table = ROWS in parts, TABLE in parts
    out: list[Any] = []
    if rows:
        out.append(gxe.ExpectColumnValuesToNotBeNull(column="id"))
    if table:
        out.append(gxe.ExpectColumnValuesToBeUnique(column="id"))
    if rows and "country" in frame.columns:
        out.append(gxe.ExpectColumnValuesToBeInSet(column="country", value_set=_country_codes()))
    if rows and "phone_e164" in frame.columns:
        out.append(gxe.ExpectColumnValuesToMatchRegex(column="phone_e164", regex=r"^\+[1-9]\d{5,14}$"))
    if rows and "seniority" in frame.columns:
        out.append(gxe.ExpectColumnValuesToBeInSet(column="seniority", value_set=list(SENIORITIES)))
    for name, share in MIN_VALID_SHARE.items():
        column = f"{name}_valid"
        if table and column in frame.columns and frame[column].notna().any():
            out.append(gxe.ExpectColumnMeanToBeBetween(column=column, min_value=share, max_value=1.0))
    return out


def _prepared(frame: pd.DataFrame) -> pd.DataFrame:
    """GX computes means on numbers: validity flags become 1.0/0.0 (missing stays missing)."""
    out = frame.copy()
    for column in out.columns:
        if column.endswith("_valid"):
            out[column] = out[column].astype("Float64").astype(float)
    return out


def run_normalized_suite(
    entity: Entity, frame: pd.DataFrame, parts: frozenset[str] = frozenset({ROWS, TABLE})
) -> SuiteOutcome:
    """Validate one normalized table; unexpected values in the outcome are PII-masked.

    `frame` needs only the `SUITE_COLUMNS` it has; other columns are ignored. `parts` limits
    the suite to expectations on rows (`ROWS`) or on the table (`TABLE`).
    """
    frame = frame[[c for c in frame.columns if c in SUITE_COLUMNS]]
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas(f"normalized_{entity.value}")
    asset = source.add_dataframe_asset(entity.value)
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
        batch_parameters={"dataframe": _prepared(frame)}
    )
    name = f"normalized_{entity.value}"
    suite = gx.ExpectationSuite(name=name)
    for expectation in _expectations(entity, frame, parts):
        suite.add_expectation(expectation)
    result = batch.validate(suite, result_format="SUMMARY")
    outcomes = [
        ExpectationOutcome(
            expectation=r.expectation_config.type,
            column=r.expectation_config.kwargs.get("column"),
            success=bool(r.success),
            unexpected_count=r.result.get("unexpected_count"),
            observed=_plain(r.result.get("observed_value")),
            sample=[str(mask_pii(str(v))) for v in (r.result.get("partial_unexpected_list") or [])[:10]],
        )
        for r in result.results
    ]
    return SuiteOutcome(name, bool(result.success), outcomes)


def combine_outcomes(*outcomes: SuiteOutcome) -> SuiteOutcome:
    """One outcome of several validations of one table (its rows and the table as a whole)."""
    return SuiteOutcome(
        outcomes[0].suite, all(o.success for o in outcomes), [x for o in outcomes for x in o.outcomes]
    )


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return value
