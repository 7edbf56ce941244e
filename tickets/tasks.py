"""Celery tasks of the ticket core. Each takes ids, re-fetches, calls a service, and is
safe to run twice (acks_late means a killed worker's task is delivered again)."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from celery import shared_task
from channels.layers import get_channel_layer

from .models import Message
from .outbound import DeliveryRetry
from .services.delivery import MAX_ATTEMPTS, message_deliver
from .signals import message_ingested

logger = logging.getLogger(__name__)


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
    try:
        for group in groups:
            async_to_sync(layer.group_send)(group, {"type": "helpdesk.event", "payload": payload})
    except Exception:  # the live push is a convenience; the data is already stored
        logger.warning("Could not push a live update to %s", groups, exc_info=True)


@shared_task(acks_late=True, name="tickets.message_ingested")
def message_ingested_task(message_id: int) -> str:
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
