"""The web form's confirmation email carries a secure link to the request.

The acknowledgement of a new ticket is the same for every channel (tickets.customer_messages);
the portal registers one extra paragraph into it, added only for requests made on the web form.
"""

from __future__ import annotations

from tickets.customer_messages import ticket_received_extra_register
from tickets.models import Channel, Ticket


def web_request_link(ticket: Ticket) -> str:
    if ticket.channel != Channel.WEB:
        return ""
    from .services import ticket_link_text

    return ticket_link_text(ticket)


def connect_portal_signals() -> None:
    ticket_received_extra_register(web_request_link)
