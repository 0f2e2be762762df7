"""Alembic environment for the ledger: runs on the connection `Ledger.open()` hands over."""

from __future__ import annotations

from alembic import context

from crm_hygiene.ledger.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError(
        "ledger migrations run online through Ledger.open(), which passes "
        'config.attributes["connection"]; there is no alembic.ini or offline mode'
    )

# The version table lives beside the ledger's tables, so each PostgreSQL schema is migrated
# on its own; the tables themselves get the schema from the connection's schema_translate_map.
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table_schema=config.attributes.get("schema"),
)

with context.begin_transaction():
    context.run_migrations()
