"""The tenants this project runs, kept in the ledger with the rest of its state.

A tenant name becomes a warehouse schema, a Dagster partition key and a path part, so it is
held to one pattern (`TENANT_PATTERN`) everywhere instead of being escaped differently in
each place.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from crm_hygiene.ledger.codec import utc_now
from crm_hygiene.ledger.engine import write_transaction
from crm_hygiene.ledger.schema import tenants
from crm_hygiene.ledger.tenant_names import TENANT_PATTERN, TENANT_RULE, check_tenant_name

__all__ = ["TENANT_PATTERN", "TENANT_RULE", "TenantRegistry", "UnknownTenantError", "check_tenant_name"]


class UnknownTenantError(ValueError):
    """A command named a tenant that was never added."""


class TenantRegistry:
    """Add and list tenants; nothing is ever removed (their audit history stays readable)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def add(self, names: list[str], *, by: str) -> dict[str, bool]:
        """Register each name (validated first, all or none); True where it was new."""
        for name in names:
            check_tenant_name(name)
        known = set(self.names())
        now = utc_now()
        fresh = [n for n in dict.fromkeys(names) if n not in known]
        if fresh:
            with write_transaction(self._engine) as connection:
                dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
                statement = dialect.insert(tenants).on_conflict_do_nothing(index_elements=["name"])
                connection.execute(
                    statement, [{"name": n, "created_at": now, "created_by": by} for n in fresh]
                )
        return {n: n in fresh for n in names}

    def names(self) -> list[str]:
        with self._engine.connect() as connection:
            return list(connection.execute(sa.select(tenants.c.name).order_by(tenants.c.name)).scalars())

    def exists(self, name: str) -> bool:
        with self._engine.connect() as connection:
            found = connection.execute(sa.select(tenants.c.name).where(tenants.c.name == name)).first()
        return found is not None

    def require(self, name: str) -> str:
        """`name` if it is a registered tenant; else UnknownTenantError saying how to add it."""
        check_tenant_name(name)
        if not self.exists(name):
            known = self.names()
            listed = f" (known: {', '.join(known)})" if known else " (none are registered yet)"
            raise UnknownTenantError(
                f"unknown tenant {name!r}{listed}; add it with `crm-hygiene tenants add {name}`"
            )
        return name
