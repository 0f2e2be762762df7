"""Policy fixtures: the ledger fixtures (SQLite and PostgreSQL) are shared with the ledger tests."""

from tests.ledger.conftest import ledger, ledger_target  # noqa: F401
