"""The layout asked for: crm_hygiene/ (the domain core, free of Dagster) beside the Dagster layer
in assets/, resources/ and jobs/, installed under one namespaced name, and one command."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "crm_hygiene"
LAYER = ("assets", "resources", "jobs")
FORBIDDEN = ("dagster", "dagster_duckdb", "dagster_webserver", "crm_hygiene_dagster", *LAYER)
COMMANDS = {
    "demo",
    "tenants",
    "train",
    "flag",
    "merge",
    "unmerge",
    "revert",
    "audit",
    "policy",
    "dedupe",
    "run",
}


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, at any depth (inside functions too)."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def test_the_domain_core_never_imports_dagster_or_the_dagster_layer() -> None:
    offending = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in sorted(CORE.rglob("*.py"))
        for line, module in _imports(path)
        if module.split(".")[0] in FORBIDDEN
    ]
    assert offending == []


def test_the_ast_check_catches_a_hidden_import(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f():\n    import dagster as dg\n    from crm_hygiene_dagster.jobs import run\n")
    assert [m for _, m in _imports(sneaky)] == ["dagster", "crm_hygiene_dagster.jobs"]


def test_the_top_level_is_the_one_asked_for() -> None:
    for name in ("pyproject.toml", "README.md", "workspace.yaml", "Makefile"):
        assert (ROOT / name).is_file(), name
    for name in ("crm_hygiene", *LAYER, "tests"):
        assert (ROOT / name).is_dir(), name
    assert not (ROOT / "crm_hygiene_dagster").exists()


def test_every_core_package_is_listed_for_installation() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    packages = {".".join(p.parent.relative_to(ROOT).parts) for p in CORE.rglob("__init__.py")}
    assert packages <= listed, sorted(packages - listed)
    assert {f"crm_hygiene_dagster.{name}" for name in LAYER} <= listed
    assert config["package-dir"] == {f"crm_hygiene_dagster.{name}": name for name in LAYER}


def _clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CRM_HYGIENE_", "DAGSTER_HOME", "PYTHONPATH"))
    }


def test_outside_the_checkout_the_layer_is_namespaced_and_generic_names_stay_free(tmp_path: Path) -> None:
    code = (
        "import importlib.util, crm_hygiene_dagster.jobs.definitions as d;"
        "print(d.__file__);"
        "print([importlib.util.find_spec(n) is None for n in ('assets', 'resources', 'jobs')])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    path, free = done.stdout.splitlines()
    assert Path(path) == ROOT / "jobs" / "definitions.py"
    assert free == "[True, True, True]"


def test_one_command_with_every_subcommand_from_any_directory(tmp_path: Path) -> None:
    command = str(Path(sys.executable).with_name("crm-hygiene"))
    done = subprocess.run(
        [command, "--help"], cwd=tmp_path, capture_output=True, text=True, env=_clean_env(), timeout=120
    )
    assert done.returncode == 0, done.stderr
    listed = done.stdout.split("{", 1)[1].split("}", 1)[0].split(",")
    assert set(listed) == COMMANDS


def test_the_wheel_installs_the_layer_under_its_namespaced_name(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    wheel = next(tmp_path.glob("crm_hygiene-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for name in LAYER:
        assert f"crm_hygiene_dagster/{name}/__init__.py" in names
        assert not any(n.startswith(f"{name}/") for n in names), name
    assert "crm_hygiene/policy/default.yaml" in names
    assert any(n.startswith("crm_hygiene/ledger/migrations/versions/0003") for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "crm-hygiene = crm_hygiene_dagster.jobs.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()
