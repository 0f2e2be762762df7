"""Jobs, schedules and sensors."""

from crm_hygiene_dagster.jobs.nightly import NIGHTLY_CRON, nightly_hygiene, nightly_hygiene_schedule

__all__ = ["NIGHTLY_CRON", "nightly_hygiene", "nightly_hygiene_schedule"]
