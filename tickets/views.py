"""The agent's pages. Thin: parse the request, call a selector or service, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .models import TicketStatus
from .selectors import ticket_get, ticket_list, ticket_queue_counts, ticket_timeline

QUEUES = {
    "mine": {"status": "unsolved"},
    "unassigned": {"status": "unsolved", "unassigned": True},
    "unsolved": {"status": "unsolved"},
    "pending": {"status": TicketStatus.PENDING},
    "on_hold": {"status": TicketStatus.ON_HOLD},
}


def _require_agent(request: HttpRequest) -> None:
    user = request.user
    if not (user.is_superuser or hasattr(user, "agent_profile")):
        raise PermissionDenied("This workspace is for agents.")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    _require_agent(request)
    queue = request.GET.get("queue", "unsolved")
    if queue not in QUEUES:
        queue = "unsolved"
    filters = dict(QUEUES[queue])
    if queue == "mine":
        filters["assignee"] = request.user.pk
    page = Paginator(ticket_list(user=request.user, filters=filters), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "tickets/home.html",
        {"counts": ticket_queue_counts(user=request.user), "queue": queue, "page": page},
    )


@login_required
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    _require_agent(request)
    ticket = ticket_get(user=request.user, number=number)
    return render(
        request,
        "tickets/ticket_detail.html",
        {"ticket": ticket, "timeline": ticket_timeline(ticket=ticket, user=request.user), "tags": ticket.tags.all()},
    )
