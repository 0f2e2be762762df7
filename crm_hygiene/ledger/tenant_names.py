"""The one pattern a tenant name follows: it becomes a warehouse schema, a Dagster partition
key and a path part. Kept apart from the registry so the command line can state the rule
without loading the ledger's database code."""

from __future__ import annotations

import re

# Lower-case letters, digits, "_" and "-", starting with a letter or digit, at most 63 long.
TENANT_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
TENANT_RULE = "1-63 characters: lower-case letters, digits, '_' and '-', starting with a letter or digit"


def check_tenant_name(name: str) -> str:
    """`name` if it is a valid tenant name, else ValueError saying the rule."""
    if not isinstance(name, str) or not TENANT_PATTERN.fullmatch(name):
        raise ValueError(f"invalid tenant name {name!r}: {TENANT_RULE}")
    return name
