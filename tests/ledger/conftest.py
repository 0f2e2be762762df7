"""Ledger fixtures: every ledger test runs against SQLite (a file in tmp_path) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from crm_hygiene.ledger import AuditEntry, Ledger, Proposal


@dataclass(frozen=True)
class LedgerTarget:
    url: str
    schema: str | None

    def open(self) -> Ledger:
        return Ledger.open(self.url, schema=self.schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_target(request: pytest.FixtureRequest, tmp_path: Any) -> LedgerTarget:
    if request.param == "sqlite":
        # A directory that does not exist yet: opening must create it.
        return LedgerTarget(f"sqlite:///{tmp_path / 'state' / 'ledger.db'}", None)
    engine = request.getfixturevalue("postgres_engine")
    schema = request.getfixturevalue("postgres_schema")
    return LedgerTarget(engine.url.render_as_string(hide_password=False), schema)


@pytest.fixture
def ledger(ledger_target: LedgerTarget) -> Iterator[Ledger]:
    with ledger_target.open() as opened:
        yield opened


@pytest.fixture
def make_proposal() -> Callable[..., Proposal]:
    def make(
        record_id: str = "c-1",
        field: str = "email",
        new_value: Any = "ada@example.com",
        *,
        tenant: str = "acme",
        **overrides: Any,
    ) -> Proposal:
        values: dict[str, Any] = {
            "entity": "contact",
            "old_value": "ADA@EXAMPLE.COM ",
            "kind": "standardize",
            "source": "normalize.emails",
            "evidence": {"rule": "lowercase and trim"},
            "confidence": 0.97,
            "policy_version": "policy-1",
            "run_id": "run-1",
            "expected_version": 3,
        } | overrides
        return Proposal.new(tenant=tenant, record_id=record_id, field=field, new_value=new_value, **values)

    return make


@pytest.fixture
def make_audit() -> Callable[..., AuditEntry]:
    def make(
        change_id: str = "change-1", action: str = "apply", group_id: str | None = None, **overrides: Any
    ):
        values: dict[str, Any] = {
            "tenant": "acme",
            "entity": "contact",
            "record_id": "c-1",
            "field": "email",
            "before": "ADA@EXAMPLE.COM ",
            "after": "ada@example.com",
            "actor": "nightly_hygiene",
            "run_id": "run-1",
            "policy_version": "policy-1",
            "evidence": {"rule": "lowercase and trim"},
            "kind": "standardize",
            "version_after": 4,
        } | overrides
        return AuditEntry(change_id=change_id, action=action, group_id=group_id, **values)

    return make
