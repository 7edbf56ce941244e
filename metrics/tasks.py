"""Beat tasks of the metrics app; idempotent, so a task delivered twice does no harm."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from .rollups import rollup_refresh
from .services import survey_invitations_send_due
from .weekly_report import weekly_reports_send


@shared_task(acks_late=True, name="metrics.rollups_refresh")
def rollups_refresh_task() -> int:
    """Recompute the daily rollups of the closed days touched since the last run."""
    return len(rollup_refresh())


@shared_task(acks_late=True, name="metrics.survey_invitations_send")
def survey_invitations_send_task() -> int:
    """Queue the survey invitations whose delay has passed."""
    return survey_invitations_send_due()


@shared_task(bind=True, acks_late=True, name="metrics.weekly_report_send", max_retries=5)
def weekly_report_send_task(self, week_start: str | None = None) -> dict:
    """Email last week's KPI report (or the week starting `week_start`, ISO date) to managers
    and admins who have not had it; failed sends are retried with backoff."""
    counts = weekly_reports_send(week_start=dt.date.fromisoformat(week_start) if week_start else None)
    if counts["failed"]:
        # 5, 10, 20, 30, 30 minutes: never longer than the broker's visibility timeout.
        raise self.retry(countdown=min(300 * 2**self.request.retries, 1800))
    return counts
