"""The agent's chat offers: a list of pending offers, and accept / decline (POST only)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tickets.views.common import agent_required, safe_next

from .selectors import chat_offers_pending
from .services import chat_offer_accept, chat_offer_decline


@require_GET
@agent_required
def offer_list(request: HttpRequest) -> HttpResponse:
    offers = list(chat_offers_pending(user=request.user, now=timezone.now()))
    return render(request, "routing/offers.html", {"offers": offers})


def _answer(request: HttpRequest, offer_id: int, service, done: str) -> HttpResponse:
    try:
        ticket = service(offer_id=offer_id, user=request.user)
    except PermissionDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
        return redirect("routing:offers")
    messages.success(request, done % {"number": ticket.number})
    return redirect(safe_next(request, reverse("agent:ticket", kwargs={"number": ticket.number})))


@require_POST
@agent_required
def offer_accept(request: HttpRequest, offer_id: int) -> HttpResponse:
    return _answer(request, offer_id, chat_offer_accept, _("Chat #%(number)s is yours."))


@require_POST
@agent_required
def offer_decline(request: HttpRequest, offer_id: int) -> HttpResponse:
    return _answer(
        request, offer_id, chat_offer_decline, _("You passed on chat #%(number)s; it goes to the next agent.")
    )
