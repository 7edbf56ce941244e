"""The email channel adapter: raw RFC 5322 bytes in, channel-neutral inbound values out.

Message ids are kept in their angle-bracketed form, "<id@host>", for Message-ID (the
external id), In-Reply-To and References alike; outbound email must store the Message-ID it
sends in the same form so that replies thread onto the ticket. A message without a Message-ID
gets "sha256:<hex of the raw bytes>", so an MTA redelivering it is still recognised.

Bounces open no ticket: the outbound message they report on is marked failed through
`message_delivery_update`, and the adapter returns no inbound message.
"""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import hashlib
import logging
from collections.abc import Mapping

from django.conf import settings

from tickets.inbound import InboundAttachment, InboundMessage, InboundSender
from tickets.models import DeliveryStatus, Message, RawInbound
from tickets.services.delivery import message_delivery_update

from .. import registry
from .outbound import email_send
from .parser import DEFAULT_MAX_MESSAGE_BYTES, EmailAddress, ParsedEmail, email_parse, message_id_normalise

logger = logging.getLogger(__name__)

HEADER_SCAN_BYTES = 256 * 1024


class MissingSender(registry.AdapterError):
    """The message names no usable sender, so it cannot belong to any customer."""


def max_message_bytes() -> int:
    return int(getattr(settings, "HELPDESK_MAX_EMAIL_BYTES", DEFAULT_MAX_MESSAGE_BYTES))


def own_addresses() -> set[str]:
    """Addresses of the help desk itself (never a customer or follower), lower case, no +tag."""
    values = [getattr(settings, "DEFAULT_FROM_EMAIL", "") or ""]
    values += list(getattr(settings, "HELPDESK_EMAIL_ADDRESSES", ()) or ())
    result = set()
    for value in values:
        address = email.utils.parseaddr(value)[1].lower()
        if address:
            result.add(_without_tag(address))
    return result


def _without_tag(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def email_external_id(body: bytes) -> str:
    """The Message-ID ("<id@host>") of a raw message, or a digest of its bytes when it has none."""
    head = bytes(body[:HEADER_SCAN_BYTES])
    try:
        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)
        message_id = message_id_normalise(str(headers.get("Message-ID", "") or ""))
    except Exception:  # noqa: BLE001 - an unreadable header block still gets an id
        message_id = ""
    if message_id and len(message_id) <= 500:
        return message_id
    return "sha256:" + hashlib.sha256(bytes(body)).hexdigest()


def bounce_record(parsed: ParsedEmail) -> str:
    """Mark the outbound message a bounce reports on as failed. Returns what happened, in words."""
    info = parsed.bounce
    if info is None:
        return "not a bounce"
    if info.temporary:
        return f"delivery delayed, still being retried: {info.summary()}"
    if not info.original_message_id:
        return f"bounce for a message we cannot identify: {info.summary()}"
    message = message_delivery_update(
        channel="email", external_id=info.original_message_id, status=DeliveryStatus.FAILED, error=info.summary()
    )
    if message is None:
        return f"bounce for {info.original_message_id}, which is not one of our messages"
    return f"outbound message {info.original_message_id} on ticket #{message.ticket.number} marked failed"


class EmailAdapter(registry.ChannelAdapter):
    key = "email"

    def external_id(self, *, body: bytes, headers: Mapping[str, str]) -> str | None:
        return email_external_id(body)

    def parse(self, raw: RawInbound) -> list[InboundMessage]:
        payload = bytes(raw.payload)
        declared = (raw.meta or {}).get("size")
        parsed = email_parse(
            payload, max_bytes=max_message_bytes(), declared_size=declared if isinstance(declared, int) else None
        )
        if parsed.is_bounce:
            outcome = bounce_record(parsed)
            logger.info("Email bounce %s: %s", raw.external_id, outcome)
            return []
        return [inbound_from_parsed(parsed, external_id=raw.external_id or email_external_id(payload))]

    def send(self, message: Message) -> str:
        """Send over the SMTP server of the ticket's mailbox; returns the Message-ID ("<id@host>")."""
        return email_send(message)


def _sender(person: EmailAddress) -> InboundSender:
    return InboundSender(kind="email", value=person.address, name=person.name)


def inbound_from_parsed(parsed: ParsedEmail, *, external_id: str) -> InboundMessage:
    """The channel-neutral value for one parsed, non-bounce email."""
    if parsed.from_ is None:
        raise MissingSender("The message has no usable From address, so it cannot be matched to a customer.")
    ours = own_addresses()
    sender_key = _without_tag(parsed.from_.address)
    cc = tuple(
        _sender(person)
        for person in parsed.cc
        if _without_tag(person.address) not in ours and _without_tag(person.address) != sender_key
    )
    body_text = parsed.reply_text or parsed.body_text
    metadata = {
        "full_text": parsed.body_text,
        "message_id": parsed.message_id,
        "from": parsed.from_.address,
        "to": [p.address for p in parsed.to],
        "reply_to": [p.address for p in parsed.reply_to],
    }
    if parsed.auto_reply_reason:
        metadata["auto_reply_reason"] = parsed.auto_reply_reason
    if parsed.truncated:
        metadata["truncated"] = parsed.truncated
        metadata["size_bytes"] = parsed.size_bytes
        metadata["size_limit_bytes"] = parsed.size_limit
    if parsed.defects:
        metadata["defects"] = sorted(set(parsed.defects))[:20]
    threading = list(dict.fromkeys([*parsed.in_reply_to, *reversed(parsed.references)]))
    return InboundMessage(
        channel="email",
        sender=_sender(parsed.from_),
        body_text=body_text,
        body_html=parsed.body_html,
        subject=parsed.subject,
        external_id=external_id,
        sent_at=parsed.date,
        in_reply_to=tuple(threading),
        ticket_number=parsed.ticket_number,
        attachments=tuple(
            InboundAttachment(
                filename=a.filename,
                content_type=a.content_type,
                content=a.payload,
                inline=a.inline,
                content_id=a.content_id,
            )
            for a in parsed.attachments
        ),
        cc=cc,
        is_auto_reply=parsed.is_auto_reply,
        metadata=metadata,
    )


def register_email_adapter() -> registry.ChannelAdapter:
    """Register the email adapter once (called from channels_inbox's AppConfig.ready())."""
    existing = registry.registered().get("email")
    if existing is not None:
        return existing
    return registry.register(EmailAdapter())
