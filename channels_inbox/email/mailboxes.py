"""Mailboxes: which one a ticket's email leaves from, and the inbound token for the HTTP endpoint."""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from tickets.models import Message, MessageDirection, Ticket

from ..models import Mailbox

TOKEN_PREFIX = "hdm_"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mailbox_inbound_token_issue(*, mailbox: Mailbox) -> str:
    """A new inbound token for POST /inbound/email/, replacing any earlier one. Only its hash is
    kept: the caller shows the token once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    Mailbox.objects.filter(pk=mailbox.pk).update(
        inbound_token_hash=_token_hash(token), inbound_token_created_at=timezone.now()
    )
    mailbox.inbound_token_hash = _token_hash(token)
    return token


def mailbox_by_inbound_token(token: str) -> Mailbox | None:
    token = (token or "").strip()
    if not token or len(token) > 200:
        return None
    return Mailbox.objects.filter(inbound_token_hash=_token_hash(token), is_active=True).first()


def mailbox_by_address(address: str) -> Mailbox | None:
    local, _, domain = (address or "").strip().lower().partition("@")
    if not domain:
        return None
    plain = f"{local.split('+', 1)[0]}@{domain}"
    return Mailbox.objects.filter(address__iexact=plain).first()


def mailbox_default() -> Mailbox | None:
    active = Mailbox.objects.filter(is_active=True)
    return active.filter(is_default=True).first() or active.order_by("id").first()


def mailbox_addresses() -> set[str]:
    return {a.lower() for a in Mailbox.objects.values_list("address", flat=True)}


def _first_email_message(ticket: Ticket) -> Message | None:
    return (
        ticket.messages.filter(direction=MessageDirection.INBOUND, channel="email")
        .select_related("raw")
        .order_by("created_at", "id")
        .first()
    )


def mailbox_for_message(message: Message) -> Mailbox | None:
    """The mailbox an inbound email arrived in: recorded on its raw payload (IMAP, HTTP), else
    the first of our mailboxes it was addressed to (MTA pipes)."""
    raw = message.raw
    if raw is not None and (raw.meta or {}).get("mailbox_id"):
        found = Mailbox.objects.filter(pk=raw.meta["mailbox_id"]).first()
        if found is not None:
            return found
    for address in (message.metadata or {}).get("to", []) or []:
        found = mailbox_by_address(address)
        if found is not None:
            return found
    return None


def mailbox_for_ticket(ticket: Ticket) -> Mailbox | None:
    """The mailbox that received the ticket's first email, else the default mailbox."""
    first = _first_email_message(ticket)
    found = mailbox_for_message(first) if first is not None else None
    if found is not None and found.is_active:
        return found
    return mailbox_default()


def message_sender_address(message: Message) -> str:
    """Where an answer to one inbound email goes: its Reply-To, else its From (never one of our
    own mailboxes). Empty when the message has neither."""
    if message.raw is None:
        return ""
    head = bytes(message.raw.payload[: 64 * 1024])
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)
    ours = mailbox_addresses()
    for name in ("Reply-To", "From"):
        address = email.utils.parseaddr(str(headers.get(name, "") or ""))[1].strip()
        if "@" in address and address.lower() not in ours:
            return address
    return ""


def customer_address_for(ticket: Ticket) -> str:
    """Where email to the ticket's requester goes: the Reply-To or From of their latest email on
    this ticket, else their first email identity. Empty when they have no address."""
    latest = (
        ticket.messages.filter(direction=MessageDirection.INBOUND, channel="email", author_customer=ticket.requester)
        .select_related("raw")
        .order_by("-created_at", "-id")
        .first()
    )
    if latest is not None:
        address = message_sender_address(latest)
        if address:
            return address
    identity = ticket.requester.identities.filter(kind="email").order_by("-verified", "created_at", "id").first()
    return identity.value if identity is not None else ""


def mailbox_poll_recorded(*, mailbox_id: int, error: str = "", **fields) -> None:
    """Note a finished poll round: the time, and the error in words (empty when it went well)."""
    now = timezone.now()
    updates = {"last_polled_at": now, "last_error": error[:5000], **fields}
    if error:
        updates["last_error_at"] = now
    with transaction.atomic():
        Mailbox.objects.filter(pk=mailbox_id).update(**updates)
