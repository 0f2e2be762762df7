"""Where things live, from the environment: read when a store is opened, never at import."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "CRM_HYGIENE_HOME"
CRM_URL_ENV = "CRM_HYGIENE_CRM_URL"
LEDGER_URL_ENV = "CRM_HYGIENE_LEDGER_URL"
WAREHOUSE_ENV = "CRM_HYGIENE_WAREHOUSE"


@dataclass(frozen=True)
class Settings:
    home: Path
    crm_url: str
    ledger_url: str
    warehouse_path: str

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
        )

    @property
    def truth_dir(self) -> Path:
        return self.home / "demo_truth"
