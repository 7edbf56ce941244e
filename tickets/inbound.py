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


# Inbound claims. Another app may recognise an inbound message on an existing ticket as
# something other than a new request (metrics: a survey answer sent as a digit reply). Ingest
# asks the registered hooks after storing the message and before anything reacts to it as a
# customer request; the first hook returning True claims it: the ticket is not reopened, its
# SLA clocks and last-customer-message time stay as they were, and the message's metadata
# gets "claimed_by": <name>. Hooks run inside ingest's transaction (each in a savepoint; one
# that raises claims nothing). `tickets` never imports the claimers: they register from their
# AppConfig.ready().
_claim_hooks: dict[str, Any] = {}


def inbound_claim_register(name: str, hook: Any) -> None:
    """Register `hook(*, ticket, message) -> bool` under `name` (registering again replaces it)."""
    _claim_hooks[name] = hook


def inbound_claim(*, ticket: Any, message: Any) -> str | None:
    """The name of the first hook that claims this stored inbound message, or None."""
    import logging

    from django.db import transaction

    for name, hook in list(_claim_hooks.items()):
        try:
            with transaction.atomic():
                if hook(ticket=ticket, message=message):
                    return name
        except Exception:  # a broken claimer must not lose the customer's message
            logging.getLogger(__name__).exception("Inbound claim hook %s failed on message %s", name, message.pk)
    return None
