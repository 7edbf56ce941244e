"""Signal receivers (connected in RoutingConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.db import transaction


def event_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """A ticket's `created` Event, whatever made the ticket (an inbound message, the web form,
    the API, an agent): route it once the creating transaction commits, when its first
    message is stored too."""
    if not created or kwargs.get("raw") or instance.verb != "created" or instance.object_type != "ticket":
        return
    from .tasks import ticket_route_task

    ticket_id = instance.object_id
    transaction.on_commit(lambda: ticket_route_task.delay(ticket_id))
