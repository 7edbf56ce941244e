"""A Celery beat crontab read in the project's TIME_ZONE (CELERY_TIMEZONE stays UTC)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from celery.schedules import crontab


class LocalCrontab(crontab):
    """`crontab` whose fields mean wall-clock time in settings.TIME_ZONE, so "Monday 07:00"
    follows daylight saving time. Pickles like `crontab` (beat's schedule file)."""

    @property
    def tz(self) -> dt.tzinfo:
        from django.conf import settings

        return ZoneInfo(settings.TIME_ZONE)
