"""The channel-neutral shape of an inbound message.

Every channel adapter (email, web form, chat, SMS, WhatsApp, ...) turns what its provider
sent into one `InboundMessage` and hands it to `tickets.services.ingest.message_ingest`.
Adapters never touch ticket models themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class InboundSender:
    """Who sent it: an identity kind (see IdentityKind) and the raw value as the provider
    gave it, e.g. ("email", "Ana <ANA@Example.com>") or ("whatsapp", "+55 11 91234-5678")."""

    kind: str
    value: str
    name: str = ""


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    content: bytes
    inline: bool = False
    content_id: str = ""


@dataclass(frozen=True)
class InboundMessage:
    channel: str
    sender: InboundSender
    body_text: str = ""
    body_html: str = ""
    subject: str = ""
    # The provider's id for this message (Message-ID, Twilio MessageSid, wamid, ...). Used to
    # drop redeliveries: one (channel, external_id) is stored once.
    external_id: str | None = None
    sent_at: datetime | None = None
    # External ids of earlier messages this one answers (In-Reply-To and References).
    in_reply_to: tuple[str, ...] = ()
    # A ticket number the sender quoted, e.g. from "[#1234]" in a subject or a reply address.
    ticket_number: int | None = None
    attachments: tuple[InboundAttachment, ...] = ()
    # Other people on the conversation (email CC); they become followers of the ticket.
    cc: tuple[InboundSender, ...] = ()
    language: str = ""
    is_auto_reply: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
