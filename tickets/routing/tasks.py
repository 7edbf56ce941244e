"""Celery tasks of routing. `ticket_route_task` runs once a new ticket's transaction has
committed; beat runs `routing_sweep_task` every minute. Both are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from .services import routing_sweep, ticket_route


@shared_task(acks_late=True, name="routing.ticket_route")
def ticket_route_task(ticket_id: int) -> dict:
    outcome = ticket_route(ticket_id=ticket_id)
    return {"routed": outcome.routed, "rules": [r["id"] for r in outcome.rules], "assignment": outcome.assignment}


@shared_task(acks_late=True, name="routing.sweep")
def routing_sweep_task() -> dict[str, int]:
    return routing_sweep().as_dict()
