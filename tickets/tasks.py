"""Celery tasks of the ticket core. Each takes ids, re-fetches, calls a service, and is
safe to run twice (acks_late means a killed worker's task is delivered again)."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from celery import shared_task
from celery.signals import task_postrun, task_prerun
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections

from .models import Message
from .outbound import DeliveryRetry
from .services.delivery import MAX_ATTEMPTS, message_deliver
from .signals import message_ingested

logger = logging.getLogger(__name__)


@task_prerun.connect(dispatch_uid="tickets.db_connection_check_prerun")
@task_postrun.connect(dispatch_uid="tickets.db_connection_check_postrun")
def _db_connection_check(sender: Any = None, **kwargs: Any) -> None:
    """When workers reuse their database connection (CELERY_DB_REUSE_MAX with DB_CONN_MAX_AGE),
    drop it if it broke or grew too old, as Django does around each web request. (Without
    reuse Celery closes it around every task anyway.)"""
    if settings.CELERY_DB_REUSE_MAX and not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()


def ticket_group(ticket_id: int) -> str:
    return f"ticket.{ticket_id}"


# Live events go only to agents who may see the ticket (the same rule as ticket_visibility_q):
# everyone with the view-all permission, the ticket's team (or every agent when it has none),
# and its assignee.
ALL_TICKETS_GROUP = "agents.all"
UNTEAMED_GROUP = "agents.unteamed"


def team_group(team_id: int) -> str:
    return f"team.{team_id}"


def agent_group(user_id: int) -> str:
    return f"agent.{user_id}"


def ticket_audience(ticket) -> list[str]:
    groups = [ALL_TICKETS_GROUP, team_group(ticket.team_id) if ticket.team_id else UNTEAMED_GROUP]
    if ticket.assignee_id:
        groups.append(agent_group(ticket.assignee_id))
    return groups


def broadcast(groups: list[str], payload: dict) -> None:
    """Push a small event to websocket listeners; never fails the caller."""
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for group in groups:
            await layer.group_send(group, {"type": "helpdesk.event", "payload": payload})

    try:
        # One trip into the event loop for all the groups, not one per group.
        async_to_sync(send_all)()
    except Exception:  # the live push is a convenience; the data is already stored
        logger.warning("Could not push a live update to %s", groups, exc_info=True)


@shared_task(acks_late=True, name="tickets.message_ingested")
def message_ingested_task(message_id: int) -> str:
    return message_ingested_announce(message_id=message_id)


def message_ingested_announce(*, message_id: int) -> str:
    """Send the `message_ingested` hook and push the new message to live pages."""
    message = Message.objects.select_related("ticket").filter(pk=message_id).first()
    if message is None:
        return "missing"
    message_ingested.send(sender=Message, message_id=message_id)
    payload = {
        "kind": "message",
        "ticket": message.ticket.number,
        "message": message.pk,
        "channel": message.channel,
    }
    broadcast([ticket_group(message.ticket_id), *ticket_audience(message.ticket)], payload)
    return "ok"


# The name puts it on the `<queue>.sla` queue when CELERY_SPLIT_QUEUES is on (helpdesk/scaling.py:
# "tickets.sla_*"), with the SLA sweep and the automations, away from the ingest queue.
@shared_task(acks_late=True, ignore_result=True, name="tickets.sla_ingest_followups")
def ingest_followups_task(
    message_id: int, event_ids: list[int] | None = None, sla_ops: list[list[Any]] | None = None
) -> str:
    """Everything an inbound message sets off once it is stored, in the order it used to run
    inline: SLA clocks (start, next response, reopen), then the receivers of the audit events
    the ingest wrote (routing of a new ticket, triggers, agent notifications, webhooks, fresh
    workspace counts and live pushes), then the `message_ingested` hook and its live push.
    Every step works from the stored state and is idempotent, so running twice is harmless."""
    from .services.events import events_dispatch
    from .sla.services import sla_replay

    for ticket_id, ops in sla_ops or []:
        sla_replay(ticket_id=int(ticket_id), ops=ops)
    if event_ids:
        events_dispatch(event_ids=event_ids)
    return message_ingested_announce(message_id=message_id)


@shared_task(bind=True, acks_late=True, name="tickets.message_deliver", max_retries=MAX_ATTEMPTS)
def message_deliver_task(self, message_id: int) -> str:
    final = self.request.retries >= self.max_retries
    try:
        return message_deliver(message_id=message_id, final_attempt=final)
    except DeliveryRetry as exc:
        # Exponential backoff: 10s, 20s, 40s, ... a few minutes at most.
        raise self.retry(exc=exc, countdown=min(10 * 2**self.request.retries, 600)) from exc


# Celery discovers only tickets.tasks: make the SLA tasks known to the worker too.
from .sla.tasks import sla_apply_task, sla_sweep_task  # noqa: E402,F401
