"""What the ticket page's composer shows for WhatsApp: whether the 24-hour customer-service
window is open, and if not, why, and the approved templates an agent can send instead."""

from __future__ import annotations

from typing import Any

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from tickets.models import Ticket

from .models import WhatsAppTemplate
from .whatsapp import KEY, WINDOW, whatsapp_last_inbound, whatsapp_window_open_since


def whatsapp_templates_offered() -> list[dict[str, Any]]:
    """The approved templates, each with its parameter numbers (1, 2, ...) for the form."""
    return [
        {
            "pk": template.pk,
            "name": template.name,
            "language": template.language,
            "body": template.body,
            "parameters": list(range(1, template.parameter_count + 1)),
        }
        for template in WhatsAppTemplate.objects.filter(approved=True).order_by("name", "language")
    ]


def whatsapp_window_state(*, ticket: Ticket) -> dict[str, Any]:
    """{"open", "reason", "closes_at"} for the ticket's customer (two small queries at most)."""
    last = whatsapp_last_inbound(ticket.requester_id)
    if whatsapp_window_open_since(last):
        closes_at = (last.sent_at or last.created_at) + WINDOW
        return {"open": True, "reason": "", "closes_at": closes_at}
    if last is None:
        reason = _(
            "The customer has never written to you on WhatsApp, so WhatsApp only lets you start the "
            "conversation with an approved template."
        )
    else:
        when = formats.date_format(timezone.localtime(last.sent_at or last.created_at), "DATETIME_FORMAT")
        reason = _(
            "The customer last wrote on WhatsApp on %(when)s, more than 24 hours ago: the customer-service "
            "window is closed and WhatsApp only accepts an approved template until they write again."
        ) % {"when": when}
    return {"open": False, "reason": reason, "closes_at": None}


def whatsapp_composer_context(*, ticket: Ticket, user: Any, channels: list[str], **_ignored: Any) -> dict[str, Any]:
    if KEY not in channels:
        return {}
    state = whatsapp_window_state(ticket=ticket)
    can_send = user.has_perm("tickets.reply_publicly")
    templates = whatsapp_templates_offered() if not state["open"] and can_send else []
    return {"whatsapp": {**state, "templates": templates, "can_send": can_send}}
