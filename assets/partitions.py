"""Tenants are dynamic partitions: one nightly run per tenant, added without a code change.

The ledger's tenant list is the source of truth (`crm-hygiene tenants`); the partitions are
kept in step with it by the schedule and by `crm-hygiene run`, so the UI shows the same tenants.
"""

from collections.abc import Iterable

import dagster as dg

tenants = dg.DynamicPartitionsDefinition(name="tenants")


def sync_tenant_partitions(instance: dg.DagsterInstance, names: Iterable[str]) -> list[str]:
    """Add the partitions the ledger has and the instance lacks; returns those added."""
    missing = [n for n in names if not instance.has_dynamic_partition(tenants.name, n)]
    if missing:
        instance.add_dynamic_partitions(tenants.name, missing)
    return missing
