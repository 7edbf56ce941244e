"""Signal receivers (connected in AutomationConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q

from .origin import current_origin

# Ticket fields whose change is a "ticket updated" event for triggers.
WATCHED_FIELDS = ("status", "priority", "team", "assignee", "tags")
RELEVANT_EVENTS_Q = (
    Q(object_type="ticket", verb="created")
    | Q(object_type="ticket", verb__in=("changed", "assigned", "reopened"), field__in=WATCHED_FIELDS)
    | Q(object_type="message", verb__in=("message_received", "reply_queued"))
)


def event_kind(event: Any) -> str | None:
    """What a tickets Event is to a trigger, or None when triggers ignore it."""
    if event.ticket_id is None:
        return None
    if event.object_type == "ticket":
        if event.verb == "created":
            return "ticket_created"
        if event.verb in ("changed", "assigned", "reopened") and event.field in WATCHED_FIELDS:
            return "ticket_updated"
    elif event.object_type == "message":
        if event.verb == "message_received":
            return "customer_reply"
        if event.verb == "reply_queued":
            return "agent_reply"
    return None


def event_origin_mark(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """An Event written while a rule acts says which rule (and chain) made the change."""
    if raw or not instance._state.adding:
        return
    origin = current_origin()
    if origin is not None:
        instance.data = {**(instance.data or {}), "automation": origin.as_dict()}


def event_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """An Event a trigger may react to: run the ticket's triggers once it commits."""
    if not created or kwargs.get("raw") or event_kind(instance) is None:
        return
    ticket_id = instance.ticket_id

    def enqueue() -> None:
        from .tasks import triggers_run_task

        triggers_run_task.delay(ticket_id)

    transaction.on_commit(enqueue)


def sla_event_notify(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """An SLA warning or breach: a notification for each person the sweep named (the
    assignee and the team lead), written in the sweep's transaction, once per event."""
    if not created or kwargs.get("raw") or instance.verb not in ("sla_warned", "sla_breached"):
        return
    from django.contrib.auth import get_user_model
    from django.utils.translation import gettext

    from tickets.models_sla import SlaMetric

    from .models import Notification

    data = instance.data or {}
    ids = [i for i in data.get("notify", []) if isinstance(i, int)]
    if not ids or instance.ticket_id is None:
        return
    try:
        metric = str(SlaMetric(data.get("metric", "")).label)
    except ValueError:
        metric = data.get("metric", "")
    from tickets.models import Ticket

    number = Ticket.objects.filter(pk=instance.ticket_id).values_list("number", flat=True).first()
    if instance.verb == "sla_breached":
        text = gettext("SLA breached on ticket #%(number)s: %(metric)s was due %(due)s.")
    else:
        text = gettext("SLA warning on ticket #%(number)s: %(metric)s is due %(due)s.")
    text = text % {"number": number, "metric": metric, "due": data.get("due_at", "")[:16].replace("T", " ")}
    users = get_user_model().objects.filter(pk__in=ids, is_active=True)
    source = f"sla:{instance.pk}"
    Notification.objects.bulk_create(
        [Notification(user=user, ticket_id=instance.ticket_id, text=text, source=source) for user in users]
    )
