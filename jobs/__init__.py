"""Jobs, schedules, sensors and the Definitions.

Exports are loaded on first use: `crm-hygiene` imports `jobs.cli` for every command, and only
`run` needs Dagster and the asset graph (about three seconds to import).
"""

from importlib import import_module
from typing import Any

__all__ = ["NIGHTLY_CRON", "nightly_hygiene", "nightly_hygiene_schedule"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(import_module("crm_hygiene_dagster.jobs.nightly"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
