"""`crm-hygiene audit` masks what the tenant's policy names as PII unless --show-pii is given."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm_hygiene import cli
from crm_hygiene.ledger import AuditAction, AuditEntry, ChangeKind, Ledger
from crm_hygiene.policy import parse_policy
from crm_hygiene.policy.store import PolicyStore


def _entry(tenant: str, field: str, before: str, after: str) -> AuditEntry:
    return AuditEntry(
        change_id=f"{tenant}-{field}",
        tenant=tenant,
        entity="contact",
        record_id="C1",
        field=field,
        before=before,
        after=after,
        actor="test",
        run_id="run-1",
        policy_version="manual",
        evidence={},
        kind=ChangeKind.STANDARDIZE,
        action=AuditAction.APPLY,
        group_id=None,
        version_after=2,
    )


def test_names_are_masked_where_the_policy_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with Ledger.open(url) as ledger:
        ledger.tenants.add(["plain", "private"], by="test")
        PolicyStore(ledger).set(
            "private", parse_policy("pii:\n  fields: [email, phone, first_name]\n"), by="test"
        )
        ledger.record_audit(
            [
                _entry("plain", "first_name", "ada", "Ada"),
                _entry("private", "first_name", "ada", "Ada"),
                _entry("private", "email", "ADA@x.org", "ada@x.org"),
            ]
        )
    assert cli.main(["audit", "--ledger", url]) == 0
    rows = {(r["tenant"], r["field"]): r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert (rows["plain", "first_name"]["before"], rows["plain", "first_name"]["after"]) == ("ada", "Ada")
    assert rows["private", "first_name"]["after"] == "A••"
    assert rows["private", "email"]["after"] == "a•••@x.org"
    assert cli.main(["audit", "--ledger", url, "--show-pii", "--tenant", "private"]) == 0
    shown = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["after"] for r in shown} == {"Ada", "ada@x.org"}
