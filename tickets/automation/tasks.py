"""Celery tasks of triggers and automations: take ids, re-fetch, call a service; safe to run
twice (events are marked once evaluated, applications and firings are unique, webhook calls
are claimed before they are sent)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from .models import WebhookCall, WebhookCallStatus
from .services import automation_sweep, triggers_run, webhook_call_attempt, webhook_calls_due


@shared_task(acks_late=True, name="automation.triggers_run")
def triggers_run_task(ticket_id: int) -> dict:
    return triggers_run(ticket_id=ticket_id).as_dict()


@shared_task(acks_late=True, name="automation.sweep")
def automation_sweep_task() -> dict:
    """Beat, every AUTOMATION_SWEEP_SECONDS: the automations, then any webhook call whose
    retry is due (a safety net for a lost retry)."""
    result = automation_sweep().as_dict()
    due = webhook_calls_due()
    for call_id in due:
        automation_webhook_send_task.delay(call_id)
    result["webhook_calls_due"] = len(due)
    return result


@shared_task(bind=True, acks_late=True, max_retries=None, name="automation.webhook_send")
def automation_webhook_send_task(self, call_id: int) -> str:
    outcome = webhook_call_attempt(call_id=call_id)
    if outcome == "retry" and not self.request.is_eager:
        # In-process mode (no broker) leaves due retries to the sweep, as a worker would after a loss.
        due = (
            WebhookCall.objects.filter(pk=call_id, status=WebhookCallStatus.PENDING)
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if due is not None:
            # Backoff is capped at minutes (AUTOMATION_WEBHOOK_BACKOFF_MAX_SECONDS), never hours.
            raise self.retry(countdown=max(0.0, (due - timezone.now()).total_seconds()))
    return outcome
