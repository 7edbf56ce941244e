"""Beat tasks of the metrics app; idempotent, so a task delivered twice does no harm."""

from __future__ import annotations

from celery import shared_task

from .rollups import rollup_refresh
from .services import survey_invitations_send_due


@shared_task(acks_late=True, name="metrics.rollups_refresh")
def rollups_refresh_task() -> int:
    """Recompute the daily rollups of the closed days touched since the last run."""
    return len(rollup_refresh())


@shared_task(acks_late=True, name="metrics.survey_invitations_send")
def survey_invitations_send_task() -> int:
    """Queue the survey invitations whose delay has passed."""
    return survey_invitations_send_due()
