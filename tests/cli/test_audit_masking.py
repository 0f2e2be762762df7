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


def test_evidence_is_masked_in_every_nested_place_and_ids_and_dates_stay_readable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    entry = _entry("plain", "merged_into", None, "C0001234")  # type: ignore[arg-type]
    evidence = {
        "survivor": "C0001234",
        "run": "7be67306-89a7-4d50-89c3-b82204c75299",
        "field_values": [
            {"field": "phone", "old": "see email", "new": "+49 30 33446277", "from": "C0004321"},
            {"field": "email", "old": None, "new": "ann.lee@acme.com"},
            {"field": "last_activity_at", "old": "2026-07-21T19:47:31+00:00", "new": "2026-09-29 05:08:12"},
            {"field": "owner", "new": "casey.nguyen@example.com"},
        ],
        "raw": {
            "email": ["ann@acme.com", "a.lee@acme.com"],
            "note": "call +1 (415) 555-0100 after 12.05.2024",
        },
    }
    with Ledger.open(url) as ledger:
        ledger.tenants.add(["plain"], by="test")
        ledger.record_audit([AuditEntry(**{**entry.__dict__, "evidence": evidence})])
    assert cli.main(["audit", "--ledger", url]) == 0
    out = capsys.readouterr().out
    row = json.loads(out)
    shown = row["evidence"]
    assert shown["survivor"] == "C0001234" and shown["run"] == evidence["run"]
    phone, email, activity, owner = shown["field_values"]
    assert (phone["old"], phone["new"], phone["from"]) == ("s••••••••", "+•• •• ••••••77", "C0004321")
    assert email["new"] == "a•••@acme.com"
    assert (activity["old"], activity["new"]) == ("2026-07-21T19:47:31+00:00", "2026-09-29 05:08:12")
    assert owner["new"] == "c•••@example.com"
    assert shown["raw"]["email"] == ["a•••@acme.com", "a•••@acme.com"]
    assert shown["raw"]["note"] == "call +• (•••) •••-••00 after 12.05.2024"
    for raw in ("33446277", "ann.lee@", "casey.nguyen@", "555-0100", "see email"):
        assert raw not in out
    assert row["after"] == "C0001234", "a record id is not a phone number"
