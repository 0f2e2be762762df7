"""The pandera schema of a tenant's merge proposals: what must hold before any merge is applied.

It guards the CRM, so the Dagster check built from it is blocking: a proposal frame that
breaks it never reaches the writer. Beyond columns and types:

- every row belongs to the tenant being run (a merge never crosses tenants);
- probabilities lie in [0, 1]; an `auto` row's weakest pair is at or above the auto threshold;
- a record is never merged into itself, is the loser of at most one merge, and a survivor is
  never a loser elsewhere (a merge chain would leave the record pointing at a merged record);
- change ids are unique.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from crm_hygiene.matching.decisions import AUTO, REVIEW
from crm_hygiene.matching.records import ENTITIES
from crm_hygiene.policy.schema import MergePolicy

_ENTITY_VALUES = [e.value for e in ENTITIES]


def _keys(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame["entity"].astype(str) + "\x1f" + frame[column].astype(str)


def merge_proposals_schema(tenant: str, rules: MergePolicy | None = None) -> pa.DataFrameSchema:
    """The schema for `tenant`'s proposals judged by `rules` (the tenant's policy; default: shipped)."""
    auto_threshold = (rules or MergePolicy()).auto_merge_threshold
    probability = [pa.Check.in_range(0.0, 1.0)]
    return pa.DataFrameSchema(
        {
            "change_id": pa.Column(str, nullable=False, unique=True),
            "tenant": pa.Column(str, pa.Check.isin([tenant]), nullable=False),
            "entity": pa.Column(str, pa.Check.isin(_ENTITY_VALUES), nullable=False),
            "cluster": pa.Column(object, nullable=False),
            "survivor_id": pa.Column(str, nullable=False),
            "loser_id": pa.Column(str, nullable=False),
            "match_probability": pa.Column(float, probability, nullable=False),
            "weakest_probability": pa.Column(float, probability, nullable=False),
            "explanation": pa.Column(object, nullable=True),
            "decision": pa.Column(str, pa.Check.isin([AUTO, REVIEW]), nullable=False),
            "reason": pa.Column(str, nullable=False),
            "field_values": pa.Column(str, nullable=False),
        },
        checks=[
            pa.Check(lambda df: df["survivor_id"] != df["loser_id"], name="never_merged_into_itself"),
            pa.Check(
                lambda df: ~_keys(df, "loser_id").duplicated(keep=False), name="loser_of_one_merge_only"
            ),
            pa.Check(
                lambda df: ~_keys(df, "survivor_id").isin(set(_keys(df, "loser_id"))),
                name="survivor_never_a_loser_elsewhere",
            ),
            pa.Check(
                lambda df: (df["decision"] != AUTO) | (df["weakest_probability"] >= auto_threshold),
                name="auto_only_above_the_auto_threshold",
            ),
        ],
        strict=False,
        name="merge_proposals",
    )
