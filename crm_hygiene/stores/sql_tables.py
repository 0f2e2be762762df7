"""Table layout of the SQL record store: one table per entity, keyed by (tenant, id).

Every field but `version` is text, so the store keeps exactly what the source sent (a
malformed date stays visible instead of being coerced away); the snapshot parses and flags.
"""

from __future__ import annotations

import sqlalchemy as sa

from crm_hygiene.model import SPECS, EntitySpec

# Fields that other records point at, or that the pipeline filters on: indexed.
_INDEXED = ("company_id", "contact_id", "reports_to", "merged_into", "status")


def _table(metadata: sa.MetaData, entity_spec: EntitySpec) -> sa.Table:
    columns: list[sa.Column] = []
    for name in entity_spec.fields:
        if name in ("tenant", "id"):
            columns.append(sa.Column(name, sa.Text, primary_key=True))
        elif name == "version":
            columns.append(sa.Column(name, sa.Integer, nullable=False, server_default="1"))
        else:
            columns.append(sa.Column(name, sa.Text, nullable=True))
    indexes = [
        sa.Index(f"ix_{entity_spec.table}_{name}", "tenant", name)
        for name in _INDEXED
        if name in entity_spec.fields
    ]
    return sa.Table(entity_spec.table, metadata, *columns, *indexes)


def build_metadata() -> sa.MetaData:
    metadata = sa.MetaData()
    for entity_spec in SPECS.values():
        _table(metadata, entity_spec)
    return metadata
