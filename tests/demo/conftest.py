"""One small demo CRM shared by the demo tests (generation takes about a second)."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_hygiene.demo import DemoConfig, DemoCrm, generate_demo_crm
from crm_hygiene.model.records import Entity

CONFIG = DemoConfig(contacts=3000, companies=600, seed=11)


@pytest.fixture(scope="session")
def demo() -> DemoCrm:
    return generate_demo_crm(CONFIG)


@pytest.fixture(scope="session")
def contacts(demo: DemoCrm) -> pd.DataFrame:
    return demo.records[Entity.CONTACT]


@pytest.fixture(scope="session")
def companies(demo: DemoCrm) -> pd.DataFrame:
    return demo.records[Entity.COMPANY]


@pytest.fixture(scope="session")
def employment(demo: DemoCrm) -> pd.DataFrame:
    return demo.records[Entity.EMPLOYMENT]


@pytest.fixture(scope="session")
def field_truth(demo: DemoCrm) -> pd.DataFrame:
    return demo.truth["field_truth"]
