"""Deduplication: finding records that describe the same entity, and measuring how well we do."""
