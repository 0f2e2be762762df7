"""Pipeline steps: plain functions the Dagster assets (or a notebook) call."""
