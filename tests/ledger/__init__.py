"""Tests of the ledger: proposals, audit log, review queue and decisions."""
