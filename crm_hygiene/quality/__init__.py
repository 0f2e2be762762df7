"""Data-quality suites that guard tables between pipeline steps."""
