"""Policy versions in the ledger: set, show, history, diff, rollback, and the version a run pins.

A version is keyed by the sha256 of its canonical content, so setting the same rules twice
is one version, and the hash on a proposal or audit entry names exactly the rules that
allowed it. A tenant that never set a policy runs on the shipped default, which is stored
(and so gets its hash) the first time a run pins it.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from crm_hygiene.ledger import Ledger
from crm_hygiene.ledger.codec import utc_now
from crm_hygiene.ledger.engine import write_transaction
from crm_hygiene.ledger.schema import policy_assignments, policy_versions, run_policies
from crm_hygiene.ledger.tenants import check_tenant_name
from crm_hygiene.policy.load import LoadedPolicy, canonical_yaml, default_policy
from crm_hygiene.policy.schema import Policy

# Shortest hash prefix accepted on the command line; git's default abbreviation.
MIN_PREFIX = 7


class PolicyNotFoundError(ValueError):
    pass


@dataclass(frozen=True)
class PolicyVersion:
    tenant: str
    hash: str
    policy: Policy
    text: str
    created_at: datetime
    created_by: str

    @property
    def short(self) -> str:
        return self.hash[:12]


@dataclass(frozen=True)
class Assignment:
    """One entry of a tenant's policy history: which version was put in force, how and by whom."""

    seq: int
    tenant: str
    hash: str
    action: str  # "set", "rollback" or "default"
    assigned_at: datetime
    assigned_by: str
    note: str


def _insert_if_absent(connection: sa.Connection, table: sa.Table, key: list[str]) -> sa.Insert:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=key)


class PolicyStore:
    def __init__(self, ledger: Ledger) -> None:
        self._engine = ledger.engine

    # -- writing ---------------------------------------------------------------------------

    def set(
        self, tenant: str, loaded: LoadedPolicy, *, by: str, note: str = "", action: str = "set"
    ) -> tuple[PolicyVersion, bool]:
        """Store `loaded` as the tenant's policy in force; (version, whether it changed anything)."""
        check_tenant_name(tenant)
        current = self.current_hash(tenant)
        now = utc_now()
        with write_transaction(self._engine) as connection:
            connection.execute(
                _insert_if_absent(connection, policy_versions, ["tenant", "policy_hash"]),
                {
                    "tenant": tenant,
                    "policy_hash": loaded.hash,
                    "content": loaded.canonical,
                    "text": loaded.text,
                    "created_at": now,
                    "created_by": by,
                },
            )
            changed = current != loaded.hash
            if changed:
                connection.execute(
                    policy_assignments.insert(),
                    {
                        "tenant": tenant,
                        "policy_hash": loaded.hash,
                        "action": action,
                        "assigned_at": now,
                        "assigned_by": by,
                        "note": note,
                    },
                )
        return self.version(tenant, loaded.hash), changed

    def rollback(self, tenant: str, *, to: str | None = None, by: str) -> PolicyVersion:
        """Put an earlier version back in force: `to` (a hash or prefix), else the one before the current."""
        history = self.history(tenant)
        if not history:
            raise PolicyNotFoundError(f"tenant {tenant!r} has no policy history to roll back")
        if to is None:
            earlier = [a for a in history if a.hash != history[-1].hash]
            if not earlier:
                raise PolicyNotFoundError(f"tenant {tenant!r} has only ever had one policy version")
            target = earlier[-1].hash
        else:
            target = self.version(tenant, to).hash
        if target == history[-1].hash:
            raise PolicyNotFoundError(f"version {target[:12]} is already in force for tenant {tenant!r}")
        version = self.version(tenant, target)
        loaded = LoadedPolicy(version.policy, version.text)
        self.set(tenant, loaded, by=by, note=f"rollback from {history[-1].hash[:12]}", action="rollback")
        return version

    def pin(self, tenant: str, run_id: str) -> PolicyVersion:
        """The version run `run_id` uses: the one in force when it first asked, for all its steps."""
        check_tenant_name(tenant)
        pinned = self.pinned(tenant, run_id)
        if pinned is None:
            current = self.in_force(tenant)
            with write_transaction(self._engine) as connection:
                connection.execute(
                    _insert_if_absent(connection, run_policies, ["run_id", "tenant"]),
                    {"run_id": run_id, "tenant": tenant, "policy_hash": current.hash, "pinned_at": utc_now()},
                )
                pinned = connection.execute(
                    sa.select(run_policies.c.policy_hash).where(
                        run_policies.c.run_id == run_id, run_policies.c.tenant == tenant
                    )
                ).scalar_one()
        return self.version(tenant, pinned)

    # -- reading ---------------------------------------------------------------------------

    def pinned(self, tenant: str, run_id: str) -> str | None:
        """The policy hash run `run_id` pinned, or None if it never asked (it failed first)."""
        with self._engine.connect() as connection:
            return connection.execute(
                sa.select(run_policies.c.policy_hash).where(
                    run_policies.c.run_id == run_id, run_policies.c.tenant == tenant
                )
            ).scalar()

    def current_hash(self, tenant: str) -> str | None:
        with self._engine.connect() as connection:
            return connection.execute(
                sa.select(policy_assignments.c.policy_hash)
                .where(policy_assignments.c.tenant == tenant)
                .order_by(policy_assignments.c.id.desc())
                .limit(1)
            ).scalar()

    def policy_for(self, tenant: str) -> Policy:
        """The rules in force for reading purposes (masking, reports): never writes the ledger."""
        current = self.current_hash(tenant)
        return default_policy().policy if current is None else self.version(tenant, current).policy

    def in_force(self, tenant: str) -> PolicyVersion:
        """The tenant's policy in force; the shipped default (stored on first use) when none was set."""
        current = self.current_hash(tenant)
        if current is not None:
            return self.version(tenant, current)
        version, _ = self.set(
            tenant, default_policy(), by="crm-hygiene", note="shipped default", action="default"
        )
        return version

    def version(self, tenant: str, hash_or_prefix: str) -> PolicyVersion:
        prefix = hash_or_prefix.strip().lower()
        if len(prefix) < MIN_PREFIX:
            raise PolicyNotFoundError(
                f"give at least {MIN_PREFIX} characters of a policy hash, not {prefix!r}"
            )
        with self._engine.connect() as connection:
            rows = connection.execute(
                sa.select(policy_versions).where(
                    policy_versions.c.tenant == tenant, policy_versions.c.policy_hash.startswith(prefix)
                )
            ).all()
        if not rows:
            raise PolicyNotFoundError(f"tenant {tenant!r} has no policy version {prefix!r}")
        if len(rows) > 1:
            raise PolicyNotFoundError(f"policy hash prefix {prefix!r} is ambiguous for tenant {tenant!r}")
        row = rows[0]
        return PolicyVersion(
            tenant=row.tenant,
            hash=row.policy_hash,
            policy=Policy.model_validate(json.loads(row.content)),
            text=row.text,
            created_at=row.created_at,
            created_by=row.created_by,
        )

    def history(self, tenant: str) -> list[Assignment]:
        with self._engine.connect() as connection:
            rows = connection.execute(
                sa.select(policy_assignments)
                .where(policy_assignments.c.tenant == tenant)
                .order_by(policy_assignments.c.id)
            ).all()
        return [
            Assignment(i + 1, r.tenant, r.policy_hash, r.action, r.assigned_at, r.assigned_by, r.note)
            for i, r in enumerate(rows)
        ]

    def diff(self, tenant: str, old: str | None = None, new: str | None = None) -> str:
        """Unified diff of two versions' rules (keys sorted, defaults spelled out).

        Without arguments: the version before the current one against the current one.
        """
        history = self.history(tenant)
        if not history:
            raise PolicyNotFoundError(f"tenant {tenant!r} has no policy history")
        new_hash = self.version(tenant, new).hash if new else history[-1].hash
        if old:
            old_hash = self.version(tenant, old).hash
        else:
            earlier = [a.hash for a in history if a.hash != new_hash]
            if not earlier:
                raise PolicyNotFoundError(
                    f"tenant {tenant!r} has only one policy version: nothing to compare"
                )
            old_hash = earlier[-1]
        before = canonical_yaml(self.version(tenant, old_hash).policy).splitlines(keepends=True)
        after = canonical_yaml(self.version(tenant, new_hash).policy).splitlines(keepends=True)
        return "".join(difflib.unified_diff(before, after, fromfile=old_hash[:12], tofile=new_hash[:12]))
