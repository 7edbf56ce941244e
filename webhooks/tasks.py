"""Webhook tasks: take ids, re-fetch, call a service; safe to run twice (a delivery is claimed
before it is sent, and only while it is due)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from .services import webhook_delivery_attempt, webhook_delivery_due


def _when(now: str | None) -> dt.datetime:
    return dt.datetime.fromisoformat(now) if now else timezone.now()


@shared_task(acks_late=True, name="webhooks.deliver")
def webhook_deliver_task(delivery_id: int, now: str | None = None) -> str:
    return webhook_delivery_attempt(delivery_id=delivery_id, now=_when(now))


@shared_task(acks_late=True, name="webhooks.sweep")
def webhook_sweep_task(now: str | None = None) -> int:
    """Every minute (beat): queue one send task per due delivery, so a slow endpoint delays
    only its own deliveries."""
    when = _when(now)
    due = webhook_delivery_due(now=when)
    for delivery_id in due:
        webhook_deliver_task.delay(delivery_id, when.isoformat())
    return len(due)
