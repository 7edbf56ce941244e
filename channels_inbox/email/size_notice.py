"""Telling the sender that their email was cut for size.

When an inbound email was over HELPDESK_MAX_EMAIL_BYTES (only its headers were read) or one of
its attachments was over HELPDESK_MAX_ATTACHMENT_BYTES (the file was not kept), the sender gets
one short automatic email naming the limit, in their language, marked Auto-Submitted, so they
can send the files another way. The agent sees the same facts on the message itself.

Loop-safe: never to automatic mail (Auto-Submitted, Precedence bulk/junk/list, List-Id, an
empty Return-Path, out-of-office subjects: anything the parser flagged), never to bounces
(they open no message at all), never to system addresses (mailer-daemon, postmaster,
no-reply, ...) or our own mailboxes, and at most one notice per sender address per hour.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.cache import cache
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import translation
from django.utils.translation import gettext as _

from tickets.customer_messages import customer_language
from tickets.models import AuthorKind, Message, MessageDirection, Ticket
from tickets.services.tickets import system_message_queue

from .mailboxes import mailbox_addresses, message_sender_address

logger = logging.getLogger(__name__)

SIZE_NOTICE_KIND = "size_notice"
SIZE_NOTICE_INTERVAL_SECONDS = 3600
_SYSTEM_LOCAL_PARTS = {
    "mailer-daemon",
    "postmaster",
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "do_not_reply",
    "bounce",
    "bounces",
    "auto-reply",
    "autoreply",
}


def _is_system_address(address: str) -> bool:
    local = address.partition("@")[0].lower().split("+", 1)[0]
    return local in _SYSTEM_LOCAL_PARTS or local.startswith(("bounce-", "bounces-"))


def _notice_allowed(address: str) -> bool:
    """True once per address per hour (cache.add is atomic on Redis and in-process caches)."""
    key = "helpdesk:email-size-notice:" + hashlib.sha256(address.strip().lower().encode()).hexdigest()
    return bool(cache.add(key, 1, timeout=SIZE_NOTICE_INTERVAL_SECONDS))


def size_cut_facts(message: Message) -> dict | None:
    """What was cut from an inbound email, from its metadata; None when nothing was."""
    metadata = message.metadata or {}
    facts: dict = {}
    if metadata.get("truncated"):
        facts["message"] = {
            "size": int(metadata.get("size_bytes") or 0),
            "limit": int(metadata.get("size_limit_bytes") or 0),
        }
    refused = metadata.get("attachments_refused") or {}
    if refused.get("files"):
        facts["attachments"] = {"limit": int(refused.get("limit_bytes") or 0), "files": list(refused["files"])}
    return facts or None


def size_notice_text(*, message: Message, facts: dict) -> str:
    """The notice, in the active language."""
    ticket = message.ticket
    paragraphs = []
    subject = message.subject or ticket.subject
    if "message" in facts:
        paragraphs.append(
            _(
                'Your email "%(subject)s" was %(size)s, larger than the %(limit)s we can accept for one email, '
                "so we could not read its text or its attachments."
            )
            % {
                "subject": subject,
                "size": filesizeformat(facts["message"]["size"]),
                "limit": filesizeformat(facts["message"]["limit"]),
            }
        )
    if "attachments" in facts:
        files = ", ".join(
            f"{item.get('filename', '')} ({filesizeformat(int(item.get('size') or 0))})"
            for item in facts["attachments"]["files"]
        )
        paragraphs.append(
            _(
                'We received your email "%(subject)s", but these attachments were larger than the %(limit)s '
                "we can accept for one file and were not kept: %(files)s."
            )
            % {"subject": subject, "limit": filesizeformat(facts["attachments"]["limit"]), "files": files}
        )
    paragraphs.append(
        _(
            "Please send what is missing again in smaller parts, or as a link to a file sharing service, "
            "by replying to this email. Your request is ticket #%(number)s."
        )
        % {"number": ticket.number}
    )
    return "\n\n".join(paragraphs)


def size_notice_send(*, message: Message) -> str:
    """Queue the notice for an inbound email that was cut for size. Returns what was done, in words.
    Idempotent: a second call for the same message queues nothing."""
    if message.channel != "email" or message.direction != MessageDirection.INBOUND:
        return "not an inbound email"
    facts = size_cut_facts(message)
    if facts is None:
        return "nothing was cut"
    if (message.metadata or {}).get("auto_reply_reason"):
        return "skipped: the message is automatic"
    address = message_sender_address(message)
    if not address:
        return "skipped: no address to answer"
    if _is_system_address(address) or address.lower() in mailbox_addresses():
        return f"skipped: {address} is a system or own address"
    ticket = message.ticket
    customer = message.author_customer or ticket.requester
    with transaction.atomic():
        Ticket.objects.select_for_update().filter(pk=ticket.pk).first()
        already = Message.objects.filter(
            ticket=ticket,
            author_kind=AuthorKind.SYSTEM,
            metadata__kind=SIZE_NOTICE_KIND,
            metadata__in_reply_to_message=message.pk,
        ).exists()
        if already:
            return "skipped: already told"
        if not _notice_allowed(address):
            logger.info("Not telling %s about the size of message %s: told within the hour", address, message.pk)
            return f"skipped: {address} was already told within the hour"
        with translation.override(customer_language(customer)):
            text = size_notice_text(message=message, facts=facts)
        system_message_queue(
            ticket=ticket,
            channel="email",
            body_text=text,
            kind=SIZE_NOTICE_KIND,
            metadata={"in_reply_to_message": message.pk, "recipient": address},
        )
    return "queued"
