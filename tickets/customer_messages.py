"""Texts the help desk sends to customers, always in the customer's own language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from .models import Customer, Ticket

_SUPPORTED = {code for code, _name in settings.LANGUAGES}


def customer_language(customer: Customer) -> str:
    """The customer's language when we speak it, else the help desk's default."""
    language = (customer.language or "").lower()
    if language in _SUPPORTED:
        return language
    base = language.split("-")[0]
    for code in _SUPPORTED:
        if code.split("-")[0] == base and base:
            return code
    return settings.LANGUAGE_CODE


def render_for_customer(customer: Customer, template_name: str, context: dict[str, Any]) -> str:
    with translation.override(customer_language(customer)):
        return render_to_string(template_name, {"customer": customer, **context}).strip()


# Paragraphs other apps add to the acknowledgement (e.g. the portal's secure link to a web form
# request). Each callable gets the ticket and returns text in the customer's language, or "".
_TICKET_RECEIVED_EXTRAS: list[Callable[[Ticket], str]] = []


def ticket_received_extra_register(extra: Callable[[Ticket], str]) -> None:
    """Add a paragraph to every acknowledgement; registering the same callable twice is a no-op."""
    if extra not in _TICKET_RECEIVED_EXTRAS:
        _TICKET_RECEIVED_EXTRAS.append(extra)


def ticket_received_text(ticket: Ticket) -> str:
    """The acknowledgement a customer gets when a new ticket is opened for them."""
    text = render_for_customer(ticket.requester, "tickets/customer/ticket_received.txt", {"ticket": ticket})
    extras = [extra(ticket).strip() for extra in _TICKET_RECEIVED_EXTRAS]
    return "\n\n".join([text, *[e for e in extras if e]])
