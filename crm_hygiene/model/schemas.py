"""Pandera schemas for the raw rows a store returns and for the typed snapshot.

The snapshot schema does not reject malformed rows (those are kept and flagged by design);
it guards what must hold for the rest of the pipeline: the columns and their types, and the
invariants of every well-formed row.
"""

from __future__ import annotations

import pandera.pandas as pa

from crm_hygiene.model.records import TIMESTAMP_FIELDS, Entity, Status, spec

_STATUSES = [s.value for s in Status]


def raw_snapshot_schema(entity: Entity) -> pa.DataFrameSchema:
    """What a store must return: every canonical column; unknown columns are allowed."""
    return pa.DataFrameSchema(
        {name: pa.Column(nullable=True, required=True) for name in spec(entity).fields},
        strict=False,
        name=f"raw_{spec(entity).table}",
    )


def _column(name: str) -> pa.Column:
    if name == "version":
        return pa.Column("Int64", pa.Check.ge(1), nullable=True)
    if name in TIMESTAMP_FIELDS:
        return pa.Column("datetime64[ns, UTC]", nullable=True)
    if name == "tenant":
        return pa.Column(str, nullable=False)
    return pa.Column(object, nullable=True)


def snapshot_schema(entity: Entity) -> pa.DataFrameSchema:
    entity_spec = spec(entity)
    columns = {name: _column(name) for name in entity_spec.fields}
    columns.update(
        {
            "extra": pa.Column(object, nullable=True),
            "raw_values": pa.Column(object, nullable=True),
            "issues": pa.Column(str, nullable=False),
            "malformed": pa.Column(bool, nullable=False),
        }
    )
    well_formed = lambda df: ~df["malformed"]  # noqa: E731 - reads better inline in the checks below
    return pa.DataFrameSchema(
        columns,
        checks=[
            pa.Check(lambda df: df["malformed"] == (df["issues"] != ""), name="malformed_rows_say_why"),
            pa.Check(lambda df: df["tenant"].nunique() <= 1, name="one_tenant_per_snapshot"),
            pa.Check(
                lambda df: ~well_formed(df) | (df["id"].notna() & ~df["id"].duplicated(keep=False)),
                name="well_formed_rows_have_unique_ids",
            ),
            pa.Check(
                lambda df: ~well_formed(df) | df["status"].isin(_STATUSES),
                name="well_formed_rows_have_a_known_status",
            ),
            pa.Check(
                lambda df: (
                    ~well_formed(df) | (df["status"] != Status.MERGED.value) | df["merged_into"].notna()
                ),
                name="merged_rows_name_their_survivor",
            ),
            pa.Check(
                lambda df: ~well_formed(df) | df["version"].notna(), name="well_formed_rows_have_a_version"
            ),
        ],
        strict=True,
        ordered=True,
        name=f"snapshot_{entity_spec.table}",
    )
