"""The commands as a new user tries them: no DAGSTER_HOME, typos, unknown tenants, undoing twice.

Each mistake gets one clear line on stderr and a non-zero exit; nothing is half done.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crm_hygiene.cli import main
from crm_hygiene.model import Entity
from crm_hygiene.stores import open_store

CLI = str(Path(sys.executable).with_name("crm-hygiene"))


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # No DAGSTER_HOME: the state a user gets without the Makefile.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_HYGIENE_", "DAGSTER_HOME"))}
    env["CRM_HYGIENE_HOME"] = str(home)
    return subprocess.run([CLI, *args], env=env, cwd=home, capture_output=True, text=True, timeout=300)


def _one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("newuser")
    done = _run(path, "demo", "--contacts", "120", "--companies", "30", "--seed", "2", "--tenant", "t1")
    assert done.returncode == 0, done.stderr
    assert "tenant 't1' added" in done.stderr
    return path


def test_tenants_live_in_the_ledger_without_a_dagster_instance(home: Path) -> None:
    added = _run(home, "tenants", "--add", "zzz")
    assert added.returncode == 0 and "tenant 'zzz' added" in added.stderr
    assert json.loads(_run(home, "tenants").stdout) == ["t1", "zzz"]
    both = _run(home, "tenants", "add", "yyy", "zzz")
    assert "tenant 'yyy' added" in both.stderr and "tenant 'zzz' already registered" in both.stderr
    assert json.loads(both.stdout) == ["t1", "yyy", "zzz"]


def test_bad_and_unknown_tenants_are_refused_and_never_registered(home: Path) -> None:
    before = json.loads(_run(home, "tenants").stdout)
    _one_line_error(
        _run(home, "tenants", "add", "bad name!"), "invalid tenant name 'bad name!'", "lower-case"
    )
    _one_line_error(
        _run(home, "run", "--tenant", "nosuch"), "unknown tenant 'nosuch'", "crm-hygiene tenants add nosuch"
    )
    _one_line_error(_run(home, "run", "--tenant", ""), "invalid tenant name ''")
    _one_line_error(
        _run(home, "flag", "--tenant", "nosuch", "--entity", "contact", "--id", "C1", "--code", "x"),
        "unknown tenant",
    )
    usage = _run(home, "tenants", "nosuch")  # argparse's usage error: the verb is `tenants add NAME`
    assert usage.returncode == 2 and "invalid choice: 'nosuch'" in usage.stderr
    assert json.loads(_run(home, "tenants").stdout) == before


def test_one_flag_is_one_change_group_and_revert_undoes_all_of_it(home: Path) -> None:
    store = open_store(f"sqlite:///{home / 'crm.sqlite'}")
    record = store.snapshot("t1", Entity.CONTACT).query("status == 'active'")["id"].iloc[0]
    before = store.read("t1", Entity.CONTACT, [record]).iloc[0]
    flagged = _run(home, "flag", "--tenant", "t1", "--entity", "contact", "--id", record, "--code", "stale")
    assert flagged.returncode == 0, flagged.stderr
    result = json.loads(flagged.stdout)
    assert result["group_id"].startswith("flag-") and len(result["change_ids"]) == 2
    assert f"crm-hygiene revert --change {result['change_ids'][0]}" in flagged.stderr
    again = _run(home, "flag", "--tenant", "t1", "--entity", "contact", "--id", record, "--code", "stale")
    _one_line_error(again, "already carries flag 'stale'")
    # Reverting either change of the flag puts back both: no `flagged` status without its flag.
    reverted = _run(home, "revert", "--change", result["change_ids"][1])
    assert reverted.returncode == 0, reverted.stderr
    assert json.loads(reverted.stdout)["applied"] == 2
    after = store.read("t1", Entity.CONTACT, [record]).iloc[0]
    assert (after["status"], after["flags"]) == (before["status"], before["flags"])
    _one_line_error(_run(home, "revert", "--change", result["change_ids"][0]), "is not currently applied")


def test_undoing_what_is_not_in_effect_is_refused(home: Path) -> None:
    store = open_store(f"sqlite:///{home / 'crm.sqlite'}")
    ids = list(store.snapshot("t1", Entity.COMPANY).query("status == 'active'")["id"][-2:])
    merged = _run(
        home, "merge", "--tenant", "t1", "--entity", "company", "--survivor", ids[0], "--loser", ids[1]
    )
    assert merged.returncode == 0, merged.stderr
    group = json.loads(merged.stdout)["group_id"]
    first = _run(home, "unmerge", group)
    assert first.returncode == 0 and json.loads(first.stdout)["applied"] >= 1
    _one_line_error(_run(home, "unmerge", group), f"merge '{group}' is not in effect", "already undone")
    _one_line_error(_run(home, "revert", "--run", "nosuchrun"), "run 'nosuchrun' applied no change")
    _one_line_error(_run(home, "unmerge", "merge-nope"), "no merge 'merge-nope'")


def test_one_training_minimum_from_the_policy_for_run_and_train(home: Path) -> None:
    verbose = _run(home, "--verbose", "run", "--tenant", "t1")  # --verbose before the command
    assert verbose.returncode == 0, verbose.stdout + verbose.stderr
    assert "too few to train on (at least 50)" in verbose.stdout  # 30 companies
    _one_line_error(
        _run(home, "train", "--tenant", "t1", "--entity", "company"),
        "30 live company records",
        "merge.min_training_records (50",
    )
    policy = home / "small.yaml"
    policy.write_text("merge:\n  min_training_records: 20\n")
    assert _run(home, "policy", "set", "--tenant", "t1", str(policy)).returncode == 0
    trained = _run(home, "train", "--tenant", "t1", "--entity", "company")
    assert trained.returncode == 0, trained.stderr
    assert json.loads(trained.stdout)["company"]["records"] == 30


def test_policy_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # In process (the same parser and handlers the installed command runs), to keep the suite quick.
    ledger = f"sqlite:///{tmp_path / 'ledger.sqlite'}"

    def cli(*args: str) -> tuple[int, str, str]:
        code = main([*args, "--ledger", ledger]) if args[:2] != ("policy", "check") else main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    assert cli("tenants", "add", "zzz")[0] == 0
    typo = tmp_path / "typo.yaml"
    typo.write_text("merge:\n  auto_merge_treshold: 0.999\n")
    code, _, err = cli("policy", "check", str(typo))
    assert code == 1 and err.count("\n") == 1
    assert "merge.auto_merge_treshold: unknown key (did you mean auto_merge_threshold?)" in err
    code, _, err = cli("policy", "set", "--tenant", "zzz", str(typo))
    assert code == 1 and "auto_merge_treshold" in err
    assert cli("policy", "history", "--tenant", "zzz")[1] == ""  # nothing stored
    assert cli("policy", "set", "--tenant", "nosuch", str(typo))[0] == 1

    strict = tmp_path / "strict.yaml"
    strict.write_text("# stricter\nmerge:\n  auto_merge_threshold: 0.999\n")
    code, out, _ = cli("policy", "check", str(strict))
    version = json.loads(out)["policy_version"]
    _, out, _ = cli("policy", "set", "--tenant", "zzz", str(strict), "--note", "fewer merges")
    assert json.loads(out) == {"tenant": "zzz", "policy_version": version, "changed": True}
    _, out, err = cli("policy", "show", "--tenant", "zzz")
    assert out.startswith("# stricter") and version in err
    assert "human_edit_days: 30" in cli("policy", "show", "--tenant", "zzz", "--resolved")[1]
    loose = tmp_path / "loose.yaml"
    loose.write_text("merge:\n  auto_merge_threshold: 0.95\n")
    assert cli("policy", "set", "--tenant", "zzz", str(loose))[0] == 0
    diff = cli("policy", "diff", "--tenant", "zzz")[1]
    assert "-  auto_merge_threshold: 0.999" in diff and "+  auto_merge_threshold: 0.95" in diff
    _, out, _ = cli("policy", "rollback", "--tenant", "zzz")
    assert json.loads(out)["policy_version"] == version
    history = [json.loads(line) for line in cli("policy", "history", "--tenant", "zzz")[1].splitlines()]
    assert [h["action"] for h in history] == ["set", "set", "rollback"]
    assert history[-1]["in_force"] and history[0]["note"] == "fewer merges"
    assert main(["policy", "default"]) == 0
    assert "auto_merge_threshold: 0.99" in capsys.readouterr().out
