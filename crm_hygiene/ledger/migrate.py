"""Bring a ledger database to the latest schema with alembic, without an alembic.ini."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from crm_hygiene.ledger.engine import write_transaction

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Arbitrary but fixed: serialises concurrent `Ledger.open()` calls on one PostgreSQL database,
# which would otherwise race to create the same tables.
_PG_MIGRATION_LOCK = 7_146_371_890_113


def alembic_config(schema: str | None = None) -> Config:
    config = Config()
    # configparser treats % as interpolation; a path may contain one.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["schema"] = schema
    return config


def upgrade_to_head(engine: sa.Engine, schema: str | None = None) -> None:
    """Run every pending migration in one transaction; a no-op when already at head."""
    config = alembic_config(schema)
    with write_transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
            if schema and not sa.inspect(connection).has_schema(schema):
                connection.execute(sa.schema.CreateSchema(schema))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
