"""Writes to the CRM that go through the ledger: every one audited, idempotent and reversible."""
