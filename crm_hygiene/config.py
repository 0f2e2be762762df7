"""Where things live, from the environment: read when a store is opened, never at import."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "CRM_HYGIENE_HOME"
CRM_URL_ENV = "CRM_HYGIENE_CRM_URL"
LEDGER_URL_ENV = "CRM_HYGIENE_LEDGER_URL"
WAREHOUSE_ENV = "CRM_HYGIENE_WAREHOUSE"
WORKERS_ENV = "CRM_HYGIENE_WORKERS"


@dataclass(frozen=True)
class Settings:
    home: Path
    crm_url: str
    ledger_url: str
    warehouse_path: str
    workers: int | None = None  # processes for the per-value parsers; None: every core

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Explicit variables win; otherwise everything is embedded under CRM_HYGIENE_HOME."""
        env = os.environ if environ is None else environ
        home = Path(env.get(HOME_ENV) or ".crm_hygiene").resolve()
        return cls(
            home=home,
            crm_url=env.get(CRM_URL_ENV) or f"sqlite:///{home / 'crm.sqlite'}",
            ledger_url=env.get(LEDGER_URL_ENV) or f"sqlite:///{home / 'ledger.sqlite'}",
            warehouse_path=env.get(WAREHOUSE_ENV) or str(home / "warehouse.duckdb"),
            workers=_workers(env.get(WORKERS_ENV)),
        )

    @property
    def truth_dir(self) -> Path:
        return self.home / "demo_truth"


def _workers(text: str | None) -> int | None:
    if not text:
        return None
    try:
        count = int(text)
    except ValueError:
        raise ValueError(f"{WORKERS_ENV} must be a whole number of processes, not {text!r}") from None
    if count < 1:
        raise ValueError(f"{WORKERS_ENV} must be at least 1, not {count}")
    return count
