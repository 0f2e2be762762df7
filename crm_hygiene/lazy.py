"""Package exports imported on first use (PEP 562), so a command pays only for what it runs.

`crm-hygiene dedupe` reads a file and matches it: it needs neither SQLAlchemy and Alembic
(the ledger) nor the SQL and spreadsheet stores, which together cost about a second and a
half of start-up; a package whose `__init__` imported every submodule made every command pay.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], object]:
    """A module `__getattr__` for `package`: name -> the submodule (relative to `package`) that
    defines it, imported when the name is first asked for and cached in the package."""

    def __getattr__(name: str) -> object:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        globals_of_package = importlib.import_module(package).__dict__
        globals_of_package[name] = value
        return value

    return __getattr__
