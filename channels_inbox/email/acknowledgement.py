"""What happens after a new email ticket is stored: the mailbox's default team, and the
automatic acknowledgement to the customer.

The acknowledgement goes once per ticket, in the customer's language, marked Auto-Submitted;
never to an automatic reply (no mail loops), never to one of our own addresses, and at most
HELPDESK_EMAIL_ACK_PER_HOUR times an hour to one address (cache-based), so a sender opening
ticket after ticket is not answered every time.

The same receiver also tells the sender when their email was cut for size (see size_notice).

`connect_email_signals()` hooks this on tickets.signals.message_ingested (sent by the
message_ingested task after commit); channels_inbox's AppConfig.ready() calls it.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from tickets.customer_messages import ticket_received_text
from tickets.models import AuthorKind, Message, MessageDirection, Ticket
from tickets.services.events import Actor
from tickets.services.tickets import system_message_queue, ticket_update
from tickets.signals import message_ingested

from ..models import Mailbox
from .mailboxes import customer_address_for, mailbox_addresses, mailbox_default, mailbox_for_message

logger = logging.getLogger(__name__)

ACK_KIND = "acknowledgement"
_DISPATCH_UID = "channels_inbox.email.message_ingested"


def ack_limit_per_hour() -> int:
    return int(getattr(settings, "HELPDESK_EMAIL_ACK_PER_HOUR", 3))


def _ack_allowed(address: str) -> bool:
    """Counts this acknowledgement against the address's hourly allowance."""
    key = "helpdesk:email-ack:" + hashlib.sha256(address.strip().lower().encode()).hexdigest()
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=3600)
        count = 1
    return count <= ack_limit_per_hour()


def acknowledgement_send(*, message: Message, mailbox: Mailbox | None) -> str:
    """Queue the acknowledgement for the ticket `message` opened. Returns what was done, in words."""
    ticket = message.ticket
    if mailbox is None:
        return "skipped: no mailbox to send from"
    if not mailbox.acknowledge_new_tickets:
        return f"skipped: {mailbox.address} does not acknowledge new tickets"
    if (message.metadata or {}).get("auto_reply_reason"):
        return "skipped: the message is an automatic reply"
    address = customer_address_for(ticket)
    if not address:
        return "skipped: the customer has no email address"
    if address.lower() in mailbox_addresses():
        return "skipped: the sender is one of our own mailboxes"
    with transaction.atomic():
        Ticket.objects.select_for_update().filter(pk=ticket.pk).first()
        already = Message.objects.filter(ticket=ticket, author_kind=AuthorKind.SYSTEM, metadata__kind=ACK_KIND).exists()
        if already:
            return "skipped: already acknowledged"
        if not _ack_allowed(address):
            logger.info("Not acknowledging ticket #%s: %s reached the hourly limit", ticket.number, address)
            return f"skipped: {address} reached the limit of {ack_limit_per_hour()} acknowledgements an hour"
        system_message_queue(
            ticket=ticket,
            channel="email",
            body_text=ticket_received_text(ticket),
            kind=ACK_KIND,
            metadata={"in_reply_to_message": message.pk},
        )
    return "queued"


def email_ticket_opened(*, message: Message) -> str:
    """Called for every ingested message; acts only on an inbound email that opened its ticket."""
    if message.channel != "email" or message.direction != MessageDirection.INBOUND:
        return "not an inbound email"
    ticket = message.ticket
    first = ticket.messages.order_by("created_at", "id").values_list("pk", flat=True).first()
    if first != message.pk:
        return "not a new ticket"
    mailbox = mailbox_for_message(message) or mailbox_default()
    if mailbox is not None and mailbox.default_team_id and ticket.team_id is None:
        ticket_update(ticket=ticket, changes={"team": mailbox.default_team}, actor=Actor.system())
    return acknowledgement_send(message=message, mailbox=mailbox)


def _on_message_ingested(sender, message_id: int, **kwargs) -> None:
    from .size_notice import size_notice_send

    message = (
        Message.objects.select_related("ticket__requester", "raw", "author_customer").filter(pk=message_id).first()
    )
    if message is None:
        return
    outcome = email_ticket_opened(message=message)
    logger.debug("Message %s ingested: %s", message_id, outcome)
    outcome = size_notice_send(message=message)
    logger.debug("Message %s size notice: %s", message_id, outcome)


def connect_email_signals() -> None:
    """Connect the email channel's receivers (idempotent)."""
    message_ingested.connect(_on_message_ingested, dispatch_uid=_DISPATCH_UID)


def disconnect_email_signals() -> None:
    message_ingested.disconnect(dispatch_uid=_DISPATCH_UID)
