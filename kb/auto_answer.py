"""Automatic answers from the knowledge base (off unless KB_AUTO_ANSWER is set).

A NEW ticket from the web form or email whose subject and first message strongly match
published public articles (score at least KB_AUTO_ANSWER_MIN_SCORE) gets an automatic reply
with links to those articles and waits as pending. Any later reply from the customer ("not
solved", or anything else) puts it back to open for a person (the ingest service reopens
pending tickets on a customer message; this module makes sure and records why).
Hooked on tickets.signals.message_ingested by KbConfig.ready(); tickets never imports kb.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from tickets.models import Channel, Message, MessageDirection, Ticket, TicketStatus
from tickets.services.events import Actor, event_record
from tickets.services.tickets import reply_channel_for, system_message_queue, ticket_change_status

from .models import SuggestionSource
from .selectors import Entry, article_suggest
from .services import suggestion_outcome_record, suggestion_shown_record

logger = logging.getLogger(__name__)
AUTO_ANSWER_KIND = "kb_auto_answer"
AUTO_ANSWER_CHANNELS = (Channel.WEB, Channel.EMAIL)


def _visitor_key(ticket: Ticket) -> str:
    return f"ticket:{ticket.pk}"


def auto_answer_text(*, entries: list[Entry], language: str) -> str:
    with translation.override(language):
        lines = [_("Hello,"), "", _("These articles from our help centre may answer your question:"), ""]
        for entry in entries:
            url = f"{settings.SITE_URL}{reverse('kb:article', args=[entry.article.slug])}?lang={language}"
            lines.append(f"- {entry.title}: {url}")
        lines += [
            "",
            _("If this solves it, there is nothing more to do. If not, just reply to this message "
              "(for example “not solved”) and a person from our team will take over."),
        ]  # fmt: skip
    return "\n".join(lines)


@transaction.atomic
def ticket_auto_answer(*, message: Message) -> Message | None:
    """Answer a new ticket's first message with matching articles, when KB_AUTO_ANSWER is on and
    the match is strong. Idempotent: a ticket is answered automatically at most once."""
    if not settings.KB_AUTO_ANSWER:
        return None
    ticket = Ticket.objects.select_for_update().get(pk=message.ticket_id)
    if ticket.channel not in AUTO_ANSWER_CHANNELS or ticket.status != TicketStatus.NEW:
        return None
    if ticket.messages.filter(direction=MessageDirection.INBOUND).exclude(pk=message.pk).exists():
        return None
    if ticket.messages.filter(metadata__kind=AUTO_ANSWER_KIND).exists():
        return None
    text = f"{ticket.subject}\n{message.body_text[:1500]}"
    entries = article_suggest(text, ticket.language, limit=3, min_score=settings.KB_AUTO_ANSWER_MIN_SCORE)
    if not entries:
        return None
    reply = system_message_queue(
        ticket=ticket,
        channel=reply_channel_for(ticket),
        body_text=auto_answer_text(entries=entries, language=ticket.language),
        kind=AUTO_ANSWER_KIND,
        metadata={"articles": [e.article.pk for e in entries], "answers": message.pk},
    )
    ticket_change_status(ticket=ticket, status=TicketStatus.PENDING, actor=Actor.system())
    event_record(
        obj=ticket,
        verb="kb_auto_answered",
        data={"articles": [e.article.slug for e in entries], "scores": [e.score for e in entries]},
        actor=Actor.system(),
    )
    suggestion_shown_record(
        source=SuggestionSource.EMAIL, visitor_key=_visitor_key(ticket), articles=entries, query=ticket.subject
    )
    return reply


@transaction.atomic
def ticket_auto_answer_followup(*, message: Message) -> bool:
    """The customer wrote again after an automatic answer (and before any person answered):
    the ticket goes back to open for a person, with an event saying so. True when handled."""
    ticket = Ticket.objects.select_for_update().get(pk=message.ticket_id)
    auto = ticket.messages.filter(metadata__kind=AUTO_ANSWER_KIND, created_at__lte=message.created_at).first()
    if auto is None:
        return False
    if ticket.events.filter(verb="kb_auto_answer_declined").exists():
        return False
    if ticket.status in (TicketStatus.NEW, TicketStatus.PENDING, TicketStatus.SOLVED):
        ticket_change_status(ticket=ticket, status=TicketStatus.OPEN, actor=Actor.system())
    event_record(
        obj=ticket,
        verb="kb_auto_answer_declined",
        data={"message": message.pk, "text": message.body_text[:200]},
        actor=Actor.system(),
    )
    suggestion_outcome_record(
        source=SuggestionSource.EMAIL, visitor_key=_visitor_key(ticket), outcome="escalated", article=None
    )
    return True


def on_message_ingested(sender: Any = None, *, message_id: int, **kwargs: Any) -> None:
    """Receiver for tickets.signals.message_ingested."""
    message = Message.objects.filter(pk=message_id, direction=MessageDirection.INBOUND).first()
    if message is None or message.is_internal:
        return
    try:
        if not ticket_auto_answer_followup(message=message):
            ticket_auto_answer(message=message)
    except Exception:  # an automatic answer must never break the ingest hook chain
        logger.exception("kb auto-answer failed for message %s", message_id)
