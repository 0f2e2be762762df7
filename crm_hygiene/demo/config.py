"""What to generate, and what comes back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd

from crm_hygiene.model.records import Entity

DEFAULT_NOW = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DemoConfig:
    """Size and seed of a demo CRM; the same config always gives the same CRM.

    `contacts` and `companies` count records, duplicate copies included; `duplicate_rate` is the
    share of those records that are extra copies of an entity that already has a record.
    `now` anchors every timestamp, so output does not depend on the clock.
    """

    contacts: int = 5000
    companies: int = 1000
    seed: int = 7
    tenant: str = "demo"
    now: datetime = DEFAULT_NOW
    duplicate_rate: float = 0.10

    def __post_init__(self) -> None:
        if self.contacts < 1 or self.companies < 1:
            raise ValueError(
                f"DemoConfig needs at least one contact and one company, got contacts={self.contacts}, "
                f"companies={self.companies}"
            )
        if not 0.0 <= self.duplicate_rate < 0.5:
            raise ValueError(f"DemoConfig.duplicate_rate must be in [0, 0.5), got {self.duplicate_rate}")
        if self.now.tzinfo is None:
            raise ValueError(f"DemoConfig.now must be timezone-aware (UTC), got {self.now!r}")
        if not self.tenant:
            raise ValueError("DemoConfig.tenant must not be empty")


@dataclass
class DemoCrm:
    """CRM records per entity (columns exactly `spec(entity).fields`) and the ground truth behind them."""

    records: dict[Entity, pd.DataFrame]
    truth: dict[str, pd.DataFrame] = field(default_factory=dict)
