"""/agent/notifications/: what rules told the signed-in agent, newest first."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tickets.views.common import agent_required

from .selectors import notification_list
from .services import notifications_mark_read

PAGE_SIZE = 100


@agent_required
def notifications(request: HttpRequest) -> HttpResponse:
    items = list(notification_list(user=request.user)[: PAGE_SIZE + 1])
    return render(
        request,
        "automation/notifications.html",
        {
            "notifications": items[:PAGE_SIZE],
            "more": len(items) > PAGE_SIZE,
            "page_size": PAGE_SIZE,
            "unread": sum(1 for n in items[:PAGE_SIZE] if n.read_at is None),
        },
    )


@agent_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    notifications_mark_read(user=request.user)
    return redirect("automation:notifications")
