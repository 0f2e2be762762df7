"""Alembic migrations of the ledger; `Ledger.open()` runs them, no alembic.ini needed."""
