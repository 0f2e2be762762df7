"""`crm-hygiene demo`, `run`, `merge`, `unmerge` and `audit` as a user runs them, on the embedded default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crm_hygiene.model import Entity
from crm_hygiene.stores import open_store

CLI = str(Path(sys.executable).with_name("crm-hygiene"))


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_HYGIENE_", "DAGSTER_HOME"))}
    env["CRM_HYGIENE_HOME"] = str(home)
    env["DAGSTER_HOME"] = str(home / "dagster")
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("home")
    done = _run(path, "demo", "--contacts", "400", "--companies", "80", "--seed", "3", "--tenant", "t1")
    assert done.returncode == 0, done.stderr
    return path


def test_demo_fills_the_embedded_store_and_writes_truth(home: Path) -> None:
    store = open_store(f"sqlite:///{home / 'crm.sqlite'}")
    assert store.count("t1", Entity.CONTACT) >= 400
    assert store.count("t1", Entity.COMPANY) >= 80
    assert store.count("t1", Entity.EMPLOYMENT) > 0
    assert list((home / "demo_truth" / "t1").glob("*.parquet"))
    before = store.count("t1", Entity.CONTACT)
    again = _run(home, "demo", "--contacts", "999", "--companies", "80", "--seed", "4", "--tenant", "t1")
    assert again.returncode == 0
    assert "keeping them" in again.stderr
    assert store.count("t1", Entity.CONTACT) == before


def test_run_materializes_through_dagster_and_prints_a_summary(home: Path) -> None:
    done = _run(home, "run", "--tenant", "t1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "nightly_hygiene for tenant 't1': succeeded" in done.stdout
    # A short summary a RevOps lead reads; the detail is behind --verbose and in the metadata.
    lines = done.stdout.strip().splitlines()
    assert len(lines) <= 12, done.stdout
    assert any(line.split()[:1] == ["records"] and "400 contacts" in line for line in lines), done.stdout
    assert any(line.split()[:1] == ["merges"] for line in lines), done.stdout
    assert any(line.split()[:2] == ["review", "queue"] for line in lines), done.stdout
    assert any(line.split()[:3] == ["checks", "4", "passed"] for line in lines), done.stdout
    # Where the time went, without the event log: the three slowest steps with their seconds.
    slowest = next(line for line in lines if line.split()[:2] == ["slowest", "steps"])
    assert len(slowest.split(", ")) == 3 and slowest.rstrip().endswith(" s"), slowest
    assert any(step in slowest for step in ("crm_snapshot", "normalized_records", "candidate_pairs"))
    assert "contacts.rows:" not in done.stdout
    assert "Traceback" not in done.stderr
    assert "snapshot t1/contacts:" in done.stderr  # progress lines
    tenants = _run(home, "tenants")
    assert json.loads(tenants.stdout) == ["t1"]


def test_merge_unmerge_and_audit_from_the_command_line(home: Path) -> None:
    store = open_store(f"sqlite:///{home / 'crm.sqlite'}")
    ids = list(store.snapshot("t1", Entity.COMPANY)["id"][:2])
    merged = _run(
        home, "merge", "--tenant", "t1", "--entity", "company", "--survivor", ids[0], "--loser", ids[1]
    )
    assert merged.returncode == 0, merged.stderr
    group = json.loads(merged.stdout)["group_id"]
    assert store.read("t1", Entity.COMPANY, [ids[1]]).iloc[0]["merged_into"] == ids[0]
    audit = _run(home, "audit", "--group", group)
    rows = [json.loads(line) for line in audit.stdout.splitlines()]
    assert rows and all(r["group_id"] == group for r in rows)
    undone = _run(home, "unmerge", group)
    assert undone.returncode == 0, undone.stderr
    assert store.read("t1", Entity.COMPANY, [ids[1]]).iloc[0]["status"] == "active"
    missing = _run(home, "unmerge", "merge-does-not-exist")
    assert missing.returncode == 1
    assert "no merge 'merge-does-not-exist'" in missing.stderr


def test_train_stores_a_new_model_version_that_the_next_run_uses(home: Path) -> None:
    trained = _run(home, "train", "--tenant", "t1", "--entity", "company")
    if trained.returncode == 1 and "first" in trained.stderr:  # run alone: no warehouse tables yet
        assert _run(home, "run", "--tenant", "t1").returncode == 0
        trained = _run(home, "train", "--tenant", "t1", "--entity", "company")
    assert trained.returncode == 0, trained.stderr
    missing = _run(home, "train", "--tenant", "nobody")
    assert missing.returncode == 1
    assert "unknown tenant 'nobody'" in missing.stderr
    result = json.loads(trained.stdout)
    assert list(result) == ["company"] and result["company"]["records"] > 0
    version = result["company"]["version"]
    assert version >= 1
    rerun = _run(home, "run", "--tenant", "t1", "--full-dedupe", "--verbose")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    # --verbose after the command: every asset's and check's metadata before the summary.
    assert "contacts.rows:" in rerun.stdout
    assert "check crm_snapshot:crm_snapshot_schema: passed" in rerun.stdout
    assert f"companies.model: stored version {version}" in rerun.stdout
    assert "companies.mode: full: full run asked" in rerun.stdout
    assert "steps (wall seconds)" in rerun.stdout and "    applied_merges: " in rerun.stdout
