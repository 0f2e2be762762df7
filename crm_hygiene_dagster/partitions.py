"""Tenants are dynamic partitions: one nightly run per tenant, added without a code change."""

import dagster as dg

tenants = dg.DynamicPartitionsDefinition(name="tenants")
