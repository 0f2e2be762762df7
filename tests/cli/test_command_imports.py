"""`crm-hygiene dedupe` loads only what it runs: a file matcher needs neither the ledger's
database code (SQLAlchemy, Alembic) nor the record stores (openpyxl), which together cost
more start-up than the rest of the command's imports; every command's start pays for it."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "alembic", "openpyxl", "dagster")


def test_the_dedupe_command_loads_no_ledger_store_or_dagster_code() -> None:
    probe = (
        "import sys\n"
        "from crm_hygiene_dagster.jobs.cli import build_parser\n"
        "build_parser()\n"
        "import crm_hygiene.matching.files, crm_hygiene.matching.link, crm_hygiene.matching.file_io\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout


def test_the_lazy_package_exports_still_resolve() -> None:
    from crm_hygiene import ledger, stores

    for package in (ledger, stores):
        for name in package.__all__:
            assert getattr(package, name).__name__ == name
    try:
        ledger.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("an unknown name must raise AttributeError")
