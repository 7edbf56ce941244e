"""Texts the help desk sends to customers, always in the customer's own language."""

from __future__ import annotations

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


def ticket_received_text(ticket: Ticket) -> str:
    """The acknowledgement a customer gets when a new ticket is opened for them."""
    return render_for_customer(ticket.requester, "tickets/customer/ticket_received.txt", {"ticket": ticket})
