"""The DuckDB warehouse resource, defaulting to the embedded file under CRM_HYGIENE_HOME."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import Field

from crm_hygiene.config import Settings


class WarehouseResource(DuckDBResource):
    """DuckDBResource whose empty `database` means CRM_HYGIENE_WAREHOUSE, else the embedded file."""

    database: str = Field(default="", description="DuckDB file; empty = from the environment")

    def resolved_path(self) -> str:
        return self.database or Settings.from_env().warehouse_path

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        path = self.resolved_path()
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # DuckDB allows one writer process per file: wait briefly for a finishing run to let go.
        for attempt in range(10):
            try:
                conn = duckdb.connect(
                    path, config={"custom_user_agent": "crm-hygiene", **self.connection_config}
                )
                break
            except duckdb.IOException:
                if attempt == 9:
                    raise
                time.sleep(0.5 * (attempt + 1))
        try:
            yield conn
        finally:
            conn.close()
