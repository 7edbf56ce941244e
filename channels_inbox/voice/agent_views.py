"""The agent's side: placing a call from a ticket (POST, session and CSRF as in the workspace)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tickets.selectors import ticket_get

from .services import call_place


def _ticket_url(number: int) -> str:
    return reverse("agent:ticket", kwargs={"number": number})


@login_required
@require_POST
def ticket_call(request: HttpRequest, number: int) -> HttpResponse:
    """Fields: agent_phone (the agent's phone, rung first), to (optional: another number of
    the customer). JSON answer when asked for (Accept: application/json), else a redirect
    back to the ticket with a message."""
    ticket = ticket_get(user=request.user, number=number)
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        call = call_place(
            ticket=ticket,
            user=request.user,
            agent_phone=request.POST.get("agent_phone", ""),
            to=request.POST.get("to", ""),
        )
    except (ValidationError, PermissionDenied) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        status = 403 if isinstance(exc, PermissionDenied) else 400
        if wants_json:
            return JsonResponse({"error": text}, status=status)
        messages.error(request, text)
        return redirect(_ticket_url(number))
    if wants_json:
        return JsonResponse({"call": call.pk, "call_sid": call.call_sid, "status": call.status}, status=201)
    messages.success(request, _("Calling you on %(phone)s; answer to be connected.") % {"phone": call.agent_phone})
    return redirect(_ticket_url(number))
