"""Policy as code: one versioned YAML document per tenant holds every decision rule."""

from crm_hygiene.policy.load import (
    LoadedPolicy,
    PolicyError,
    default_policy,
    load_policy_file,
    parse_policy,
    policy_hash,
)
from crm_hygiene.policy.schema import Outcome, Policy, WriteMode

__all__ = [
    "LoadedPolicy",
    "Outcome",
    "Policy",
    "PolicyError",
    "WriteMode",
    "default_policy",
    "load_policy_file",
    "parse_policy",
    "policy_hash",
]
