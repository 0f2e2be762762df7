"""Policy versions in the ledger (SQLite and PostgreSQL): set, history, diff, rollback, run pins."""

from __future__ import annotations

import pytest

from crm_hygiene.ledger import Ledger
from crm_hygiene.policy import default_policy, parse_policy
from crm_hygiene.policy.store import PolicyNotFoundError, PolicyStore

STRICT = "merge:\n  auto_merge_threshold: 0.999  # stricter for this tenant\n"
LOOSE = "merge:\n  auto_merge_threshold: 0.95\n"


def test_a_tenant_without_a_policy_runs_on_the_stored_shipped_default(ledger: Ledger) -> None:
    store = PolicyStore(ledger)
    assert store.history("acme") == []
    version = store.in_force("acme")
    assert version.hash == default_policy().hash
    assert version.text == default_policy().text  # the commented file, as shipped
    assert [a.action for a in store.history("acme")] == ["default"]
    assert store.in_force("acme").hash == version.hash
    assert len(store.history("acme")) == 1


def test_set_keeps_every_version_and_its_text_and_same_content_is_one_version(ledger: Ledger) -> None:
    store = PolicyStore(ledger)
    strict, changed = store.set("acme", parse_policy(STRICT), by="ops")
    assert changed and strict.policy.merge.auto_merge_threshold == 0.999
    assert "# stricter for this tenant" in store.in_force("acme").text
    # The same rules written differently are the same version: nothing changes.
    again, changed = store.set("acme", parse_policy("merge: {auto_merge_threshold: 0.999}"), by="ops")
    assert not changed and again.hash == strict.hash
    loose, _ = store.set("acme", parse_policy(LOOSE), by="ops", note="more recall")
    history = store.history("acme")
    assert [(a.hash, a.action) for a in history] == [(strict.hash, "set"), (loose.hash, "set")]
    assert history[-1].note == "more recall" and history[-1].assigned_by == "ops"
    # Tenants are apart.
    assert store.history("globex") == []


def test_diff_and_rollback(ledger: Ledger) -> None:
    store = PolicyStore(ledger)
    strict, _ = store.set("acme", parse_policy(STRICT), by="ops")
    loose, _ = store.set("acme", parse_policy(LOOSE), by="ops")
    diff = store.diff("acme")
    assert "-  auto_merge_threshold: 0.999" in diff and "+  auto_merge_threshold: 0.95" in diff
    assert store.diff("acme", strict.hash[:8], strict.hash[:8]) == ""
    back = store.rollback("acme", by="ops")
    assert back.hash == strict.hash and store.in_force("acme").hash == strict.hash
    assert store.history("acme")[-1].action == "rollback"
    forward = store.rollback("acme", to=loose.hash[:10], by="ops")
    assert forward.hash == loose.hash
    with pytest.raises(PolicyNotFoundError, match="already in force"):
        store.rollback("acme", to=loose.hash, by="ops")
    with pytest.raises(PolicyNotFoundError, match="no policy version"):
        store.version("acme", "0000000")
    with pytest.raises(PolicyNotFoundError, match="at least 7"):
        store.version("acme", "ab")
    with pytest.raises(PolicyNotFoundError, match="no policy history"):
        store.rollback("globex", by="ops")


def test_a_run_keeps_the_version_it_started_with(ledger: Ledger) -> None:
    store = PolicyStore(ledger)
    first, _ = store.set("acme", parse_policy(STRICT), by="ops")
    pinned = store.pin("acme", "run-1")
    store.set("acme", parse_policy(LOOSE), by="ops")  # changed while run-1 goes on
    assert store.pin("acme", "run-1").hash == first.hash == pinned.hash
    assert store.pin("acme", "run-2").hash != first.hash
    assert store.pinned("acme", "run-1") == first.hash
    assert store.pinned("acme", "never-ran") is None


def test_tenant_names_follow_one_pattern(ledger: Ledger) -> None:
    tenants = ledger.tenants
    assert tenants.add(["acme", "globex-eu", "t_2"], by="test") == {
        "acme": True,
        "globex-eu": True,
        "t_2": True,
    }
    assert tenants.add(["acme"], by="test") == {"acme": False}
    assert tenants.names() == ["acme", "globex-eu", "t_2"]
    for bad in ["", "bad name!", "Acme", "-x", "x" * 64, "a/b", "ünï"]:
        with pytest.raises(ValueError, match="invalid tenant name"):
            tenants.add([bad], by="test")
    # All or none: a bad name in a list adds nothing.
    with pytest.raises(ValueError):
        tenants.add(["fine", "not fine"], by="test")
    assert "fine" not in tenants.names()
    with pytest.raises(ValueError, match=r"unknown tenant 'nosuch'.*crm-hygiene tenants add nosuch"):
        tenants.require("nosuch")
    assert tenants.require("acme") == "acme"
