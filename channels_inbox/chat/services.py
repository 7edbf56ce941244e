"""Writes of live chat.

Every visitor message goes through the one ingest path (`raw_inbound_store` + `message_ingest`,
channel "chat", identity kind "chat" = the visitor's key), so it lands on exactly one ticket.
Agent answers are ordinary replies (`ticket_reply` / `ticket_respond`); the chat adapter's
sender pushes them to the visitor's sockets (or emails them when the visitor has gone).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tickets.inbound import InboundAttachment, InboundMessage, InboundSender
from tickets.models import Identity, Message, Ticket, TicketStatus
from tickets.services.customers import identity_add
from tickets.services.events import Actor, event_record
from tickets.services.ingest import message_ingest, raw_inbound_store
from tickets.services.tickets import reply_channel_for, system_message_queue, ticket_assign, ticket_change_status
from tickets.services.workspace import ticket_respond

from . import live
from .models import OPEN_CHAT_STATES, ChatAgentStatus, ChatSession, ChatState, ChatVisitor
from .selectors import (
    agent_chat_limit,
    agent_open_chats,
    chat_staffed,
    message_payload,
    session_open_for,
)

logger = logging.getLogger(__name__)

TOKEN_SALT = "chat.visitor"
LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}
# What a visitor types to ask for a person (any case, whole message), in the product's languages.
HANDOVER_WORDS = frozenset(
    {"agent", "human", "person", "operator", "atendente", "humano", "pessoa", "оператор", "человек", "агент"}
)


class ChatRefused(ValidationError):
    """The chat action cannot be done; the message says why (shown to the person)."""


# --- Visitors ---------------------------------------------------------------------------------


def language_pick(value: str | None) -> str:
    value = (value or "").strip().lower().replace("_", "-")
    if value in LANGUAGE_CODES:
        return value
    base = value.split("-")[0]
    if base == "pt":
        return "pt-br"
    return base if base in LANGUAGE_CODES else settings.LANGUAGE_CODE


def visitor_create(*, language: str = "") -> ChatVisitor:
    return ChatVisitor.objects.create(key=f"v_{secrets.token_urlsafe(24)}", language=language_pick(language))


def visitor_token(visitor: ChatVisitor) -> str:
    """What the browser keeps (localStorage) to be recognised on the next page or visit."""
    return signing.dumps(visitor.key, salt=TOKEN_SALT)


def visitor_from_token(token: str) -> ChatVisitor | None:
    try:
        key = signing.loads(token or "", salt=TOKEN_SALT, max_age=dt.timedelta(days=settings.CHAT_TOKEN_MAX_AGE_DAYS))
    except signing.BadSignature:
        return None
    return ChatVisitor.objects.filter(key=key).select_related("customer").first()


def visitor_profile_set(*, visitor: ChatVisitor, name: str = "", email: str = "", language: str = "") -> ChatVisitor:
    """The pre-chat form (or the offline form): name and email. The email becomes an identity
    of the visitor's customer when nobody holds it yet, so follow-ups can go by email."""
    from django.core.validators import validate_email

    name = (name or "").strip()[:200]
    email = (email or "").strip()[:254]
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ChatRefused(_("Enter a valid email address.")) from None
    fields = []
    if name:
        visitor.name, fields = name, [*fields, "name"]
    if email:
        visitor.email, fields = email.lower(), [*fields, "email"]
    if language:
        visitor.language, fields = language_pick(language), [*fields, "language"]
    if fields:
        visitor.save(update_fields=fields)
    _visitor_email_identity(visitor)
    return visitor


def _visitor_email_identity(visitor: ChatVisitor) -> None:
    if not (visitor.email and visitor.customer_id):
        return
    if Identity.objects.filter(kind="email", value=visitor.email).exists():
        return
    try:
        identity_add(
            customer=visitor.customer,
            kind="email",
            value=visitor.email,
            actor=Actor.of_customer(visitor.customer),
            reason="chat pre-chat form",
        )
    except IntegrityError:  # taken meanwhile: follow-ups then go to the chat only
        pass
    if visitor.name and not visitor.customer.name:
        type(visitor.customer).objects.filter(pk=visitor.customer_id).update(name=visitor.name)


def visitor_connected(*, visitor_id: int, delta: int) -> None:
    ChatVisitor.objects.filter(pk=visitor_id).update(connections=F("connections") + delta, last_seen_at=timezone.now())
    if delta < 0:
        ChatVisitor.objects.filter(pk=visitor_id, connections__lt=0).update(connections=0)


def _rate_limited(visitor: ChatVisitor) -> bool:
    limit = settings.CHAT_VISITOR_MESSAGES_PER_MINUTE
    if limit <= 0:
        return False
    key = f"chat:rate:{visitor.pk}:{int(timezone.now().timestamp() // 60)}"
    if cache.add(key, 1, timeout=70):
        return False
    try:
        return cache.incr(key) > limit
    except ValueError:
        cache.set(key, 1, timeout=70)
        return False


# --- Visitor messages ---------------------------------------------------------------------------


def _session_start(visitor: ChatVisitor, page_url: str) -> ChatSession:
    staffed = chat_staffed()
    if not staffed:
        state = ChatState.OFFLINE
    elif settings.CHAT_BOT_ENABLED:
        state = ChatState.BOT
    else:
        state = ChatState.WAITING
    try:
        with transaction.atomic():
            return ChatSession.objects.create(visitor=visitor, state=state, page_url=page_url[:500])
    except IntegrityError:  # another tab started it at the same moment
        return ChatSession.objects.get(visitor=visitor, state__in=OPEN_CHAT_STATES)


def chat_visitor_message(
    *,
    visitor: ChatVisitor,
    text: str,
    page_url: str = "",
    files: Sequence[InboundAttachment] = (),
) -> tuple[ChatSession, Message]:
    """A visitor wrote: store it as an inbound chat message on the chat's ticket and tell the
    agents. Refused (ChatRefused) when empty, too long or too fast."""
    text = (text or "").replace("\x00", "").strip()
    if not text and not files:
        raise ChatRefused(_("Write a message first."))
    if len(text) > settings.CHAT_MAX_MESSAGE_CHARS:
        raise ChatRefused(_("That message is too long.") + " " + _("Shorten it and send it again."))
    if _rate_limited(visitor):
        raise ChatRefused(_("You are sending messages too fast. Wait a moment and try again."))
    for item in files:
        if len(item.content) > settings.CHAT_MAX_ATTACHMENT_BYTES:
            raise ChatRefused(
                _("%(name)s is larger than %(size)s MB.")
                % {"name": item.filename, "size": settings.CHAT_MAX_ATTACHMENT_BYTES // (1024 * 1024)}
            )
    session = session_open_for(visitor=visitor)
    state_changed = session is None
    if session is None:
        session = _session_start(visitor, page_url)
    elif session.state == ChatState.OFFLINE and chat_staffed():
        session.state = ChatState.BOT if settings.CHAT_BOT_ENABLED else ChatState.WAITING
        session.save(update_fields=["state"])
        state_changed = True
    external_id = f"chat-{uuid.uuid4().hex}"
    payload = json.dumps({"visitor": visitor.key, "session": session.pk, "text": text}).encode()
    raw, _created = raw_inbound_store(
        channel="chat", payload=payload, external_id=external_id, content_type="application/json"
    )
    result = message_ingest(
        inbound=InboundMessage(
            channel="chat",
            sender=InboundSender(kind="chat", value=visitor.key, name=visitor.name),
            body_text=text or ", ".join(f.filename for f in files),
            external_id=external_id,
            language=visitor.language,
            attachments=tuple(files),
            metadata={"chat_session": session.pk, "page": page_url[:500]},
        ),
        raw=raw,
    )
    message, ticket = result.message, result.ticket
    session.refresh_from_db(fields=["state"])  # in-process tasks (the bot) may have moved it on
    if visitor.customer_id != result.customer.pk:
        visitor.customer = result.customer
        visitor.save(update_fields=["customer"])
        _visitor_email_identity(visitor)
    changed = session.ticket_id != ticket.pk
    if changed:
        session.ticket = ticket
        session.save(update_fields=["ticket"])
    handover = session.state == ChatState.BOT and text.lower().strip(" .!?") in HANDOVER_WORDS
    if handover:
        chat_handover(visitor=visitor)
        session.refresh_from_db()
    if session.state == ChatState.OFFLINE:
        _offline_followup(session)
    if state_changed and not handover:
        _push_state(session)
    _push_message(session, message)
    if changed or handover:
        live.push([live.AGENTS_GROUP], {"type": "chat.changed"})
    return session, message


def _push_message(session: ChatSession, message: Message) -> None:
    visitor_id = session.visitor_id
    live.push(
        [live.visitor_group(visitor_id), live.session_group(session.pk)],
        {
            "type": "chat.message",
            "session": session.pk,
            "visitor": message_payload(message, audience="visitor", visitor_id=visitor_id),
            "agent": message_payload(message, audience="agent"),
        },
    )


def chat_handover(*, visitor: ChatVisitor) -> ChatSession | None:
    """The visitor asks for a person: the bot steps aside (or, with nobody to answer, the chat
    is left as a ticket for an email follow-up)."""
    session = session_open_for(visitor=visitor)
    if session is None or session.state not in (ChatState.BOT, ChatState.OFFLINE):
        return session
    session.state = ChatState.WAITING if chat_staffed() else ChatState.OFFLINE
    session.save(update_fields=["state"])
    if session.ticket_id:
        event_record(obj=session.ticket, verb="chat_handover", data={"session": session.pk}, actor=Actor.system())
    _push_state(session)
    live.push([live.AGENTS_GROUP], {"type": "chat.changed"})
    return session


def _push_state(session: ChatSession) -> None:
    live.push(
        [live.visitor_group(session.visitor_id), live.session_group(session.pk)],
        {"type": "chat.state", "session": session.pk, "state": session.state},
    )


def _offline_followup(session: ChatSession) -> None:
    """Out of hours or nobody online: once per chat, tell the visitor by email (when we have
    their address) that the chat is now ticket #N and the answer will come by email."""
    if session.followup_sent or session.ticket_id is None:
        return
    ticket = session.ticket
    visitor = session.visitor
    if not visitor.email or not ticket.requester.identities.filter(kind="email").exists():
        return
    with translation.override(visitor.language):
        body = _(
            "Thank you for your message. Nobody can answer the chat right now, so we made it ticket "
            "#%(number)s and will answer you by email as soon as we can."
        ) % {"number": ticket.number}
    with transaction.atomic():
        if not ChatSession.objects.filter(pk=session.pk, followup_sent=False).update(followup_sent=True):
            return
        session.followup_sent = True
        system_message_queue(ticket=ticket, channel="email", body_text=body, kind="chat_followup")


def chat_offline_contact(*, visitor: ChatVisitor, name: str, email: str) -> ChatSession | None:
    """The offline form: the visitor leaves an address; the follow-up goes out by email."""
    visitor_profile_set(visitor=visitor, name=name, email=email)
    session = session_open_for(visitor=visitor)
    if session is not None and session.state == ChatState.OFFLINE:
        session.visitor.refresh_from_db()
        _offline_followup(session)
    return session


def chat_read(*, session: ChatSession, by: str) -> None:
    now = timezone.now()
    field = "visitor_read_at" if by == "visitor" else "agent_read_at"
    ChatSession.objects.filter(pk=session.pk).update(**{field: now})
    group = live.session_group(session.pk) if by == "visitor" else live.visitor_group(session.visitor_id)
    live.push([group], {"type": "chat.read", "session": session.pk, "by": by, "at": now.isoformat()})


# --- Agents ---------------------------------------------------------------------------------------


def agent_console_connected(*, user: AbstractBaseUser, delta: int) -> None:
    now = timezone.now()
    status, _created = ChatAgentStatus.objects.get_or_create(user=user)
    ChatAgentStatus.objects.filter(pk=status.pk).update(connections=F("connections") + delta, last_seen_at=now)
    if delta < 0:
        ChatAgentStatus.objects.filter(pk=status.pk, connections__lt=0).update(connections=0)


def agent_console_seen(*, user: AbstractBaseUser) -> None:
    ChatAgentStatus.objects.filter(user=user).update(last_seen_at=timezone.now())


def _check_room(user: AbstractBaseUser) -> None:
    limit = agent_chat_limit(user=user)
    if agent_open_chats(user=user).count() >= limit:
        raise ChatRefused(
            _("You already have %(count)s chats, your limit. End one before taking another.") % {"count": limit}
        )


def chat_take(*, user: AbstractBaseUser, session: ChatSession) -> ChatSession:
    """The agent takes a waiting chat (within their chat limit); its ticket is assigned to them.
    An open routing offer of this chat to them is accepted on the way."""
    from tickets.routing.models import ChatOffer, OfferState
    from tickets.routing.services import chat_offer_accept

    if session.state == ChatState.ENDED or session.ticket_id is None:
        raise ChatRefused(_("This chat has ended."))
    ticket = session.ticket
    if ticket.assignee_id == user.pk:
        return _session_active(session, user)
    if ticket.assignee_id is not None:
        raise ChatRefused(_("Another agent has already taken this chat."))
    _check_room(user)
    offer = ChatOffer.objects.filter(ticket=ticket, agent=user, state=OfferState.OFFERED).first()
    if offer is not None:
        chat_offer_accept(offer_id=offer.pk, user=user)
    else:
        with transaction.atomic():
            locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
            if locked.assignee_id is not None:
                raise ChatRefused(_("Another agent has already taken this chat."))
            ticket_assign(ticket=locked, assignee=user, actor=Actor.agent(user))
    return _session_active(session, user)


def chat_offer_take(*, user: AbstractBaseUser, offer_id: int) -> ChatSession | None:
    """Accept a routing offer from the console, within the agent's chat limit."""
    from tickets.routing.services import chat_offer_accept

    _check_room(user)
    ticket = chat_offer_accept(offer_id=offer_id, user=user)
    session = ChatSession.objects.filter(ticket=ticket, state__in=OPEN_CHAT_STATES).first()
    return _session_active(session, user) if session else None


def _session_active(session: ChatSession, user: AbstractBaseUser) -> ChatSession:
    session.state, session.agent = ChatState.ACTIVE, user
    session.accepted_at = session.accepted_at or timezone.now()
    session.save(update_fields=["state", "agent", "accepted_at"])
    with translation.override(session.visitor.language):
        name = user.first_name or user.get_username()
        joined = _("%(name)s joined the chat.") % {"name": name}
    _push_state(session)
    live.push([live.visitor_group(session.visitor_id)], {"type": "chat.notice", "text": joined})
    live.push([live.AGENTS_GROUP], {"type": "chat.changed"})
    return session


def chat_agent_message(
    *, user: AbstractBaseUser, session: ChatSession, text: str, files: Sequence[UploadedFile] = ()
) -> Message:
    """An agent answers in the console: an ordinary reply on the chat channel, pushed at once."""
    if session.state == ChatState.ENDED:
        raise ChatRefused(_("This chat has ended."))
    session.ticket = Ticket.objects.select_related("requester").get(pk=session.ticket_id)
    if session.ticket.assignee_id != user.pk:
        raise PermissionDenied(_("Take the chat before answering it."))
    text = (text or "").strip()
    if not text and files:
        text = ", ".join(f.name for f in files)
    message = ticket_respond(
        ticket=session.ticket, user=user, body=text, is_internal=False, channel="chat", files=files
    )
    if message is None:
        raise ChatRefused(_("Write a message first."))
    _push_message(session, message)
    return message


def chat_end(*, session: ChatSession, by: str, user: AbstractBaseUser | None = None) -> ChatSession:
    """End the chat (the visitor or the agent). The transcript stays on the ticket; when an agent
    answered, the ticket is solved (CHAT_SOLVE_ON_END) and the visitor is asked to rate the chat."""
    if session.state == ChatState.ENDED:
        return session
    if session.ticket_id:
        session.ticket = Ticket.objects.get(pk=session.ticket_id)
    if by == "agent" and (user is None or session.ticket is None or session.ticket.assignee_id != user.pk):
        raise PermissionDenied(_("Only the agent in this chat can end it."))
    now = timezone.now()
    actor = Actor.agent(user) if user is not None else Actor.system()
    survey = None
    with transaction.atomic():
        session.state, session.ended_at, session.ended_by = ChatState.ENDED, now, by
        session.save(update_fields=["state", "ended_at", "ended_by"])
        ticket = session.ticket
        if ticket is not None:
            event_record(obj=ticket, verb="chat_ended", data={"session": session.pk, "by": by}, actor=actor)
            answered = ticket.messages.filter(
                direction="outbound", author_kind="agent", created_at__gte=session.started_at
            )
            if (
                settings.CHAT_SOLVE_ON_END
                and answered.exists()
                and ticket.status
                not in (
                    TicketStatus.SOLVED,
                    TicketStatus.CLOSED,
                )
            ):
                try:
                    with transaction.atomic():
                        ticket_change_status(ticket=ticket, status=TicketStatus.SOLVED, actor=actor)
                except (ValidationError, PermissionDenied) as exc:
                    logger.info("Chat %s ended without solving ticket %s: %s", session.pk, ticket.number, exc)
    ticket = session.ticket
    if ticket is not None:
        ticket.refresh_from_db()
        if ticket.status == TicketStatus.SOLVED:
            from metrics.services import survey_create_for_ticket

            survey = survey_create_for_ticket(ticket=ticket)
            if survey is not None and survey.answered_at is None:
                ChatSession.objects.filter(pk=session.pk).update(survey_id=survey.pk)
                session.survey_id = survey.pk
    event: dict[str, Any] = {"type": "chat.ended", "session": session.pk, "by": by}
    if session.survey_id:
        event["rate"] = {"low": survey.scale[0], "high": survey.scale[1]}
    live.push([live.visitor_group(session.visitor_id), live.session_group(session.pk)], event)
    live.push([live.AGENTS_GROUP], {"type": "chat.changed"})
    return session


def chat_rate(*, visitor: ChatVisitor, score: int, comment: str = "") -> Any:
    """The visitor rates their last ended chat: the answer to its CSAT survey."""
    from metrics.models import Survey
    from metrics.services import SurveyScoreError, survey_answer

    session = (
        ChatSession.objects.filter(visitor=visitor, state=ChatState.ENDED, survey_id__isnull=False)
        .order_by("-ended_at")
        .first()
    )
    if session is None:
        raise ChatRefused(_("There is no chat to rate."))
    survey = Survey.objects.get(pk=session.survey_id)
    try:
        return survey_answer(survey=survey, score=score, comment=comment, via="chat")
    except SurveyScoreError:
        raise ChatRefused(_("Choose one of the stars.")) from None


# --- Video calls ------------------------------------------------------------------------------------


def video_call_start(*, ticket: Ticket, user: AbstractBaseUser) -> tuple[str, Message]:
    """Start a video call: post a meeting link (VIDEO_MEETING_URL_TEMPLATE with a fresh {token})
    to the customer in the conversation, and record it on the ticket."""
    token = re.sub(r"[^A-Za-z0-9]", "", secrets.token_urlsafe(16))[:16]
    url = settings.VIDEO_MEETING_URL_TEMPLATE.replace("{token}", token)
    with translation.override(ticket.requester.language or ticket.language):
        body = _("Join the video call: %(url)s") % {"url": url}
    channel = "chat" if ticket.chat_sessions.filter(state__in=OPEN_CHAT_STATES).exists() else reply_channel_for(ticket)
    with transaction.atomic():
        message = ticket_respond(ticket=ticket, user=user, body=body, is_internal=False, channel=channel)
        event_record(
            obj=ticket, verb="video_call_started", data={"url": url, "message": message.pk}, actor=Actor.agent(user)
        )
    session = ticket.chat_sessions.filter(state__in=OPEN_CHAT_STATES).select_related("visitor").first()
    if session is not None:
        _push_message(session, message)
    return url, message


# --- The knowledge-base bot ----------------------------------------------------------------------


def kb_suggestions(*, text: str, language: str, limit: int = 3) -> list[Any]:
    """Articles answering `text` (one place to swap the knowledge-base look-up)."""
    from kb.selectors import article_suggest

    return article_suggest(text, language, limit=limit)


def bot_answer(*, message_id: int) -> Message | None:
    """First answer of a chat in the bot's hands: knowledge-base articles that match, or, with
    none, a hand-over to a person. Runs after the keyword flows; a message a flow answered is
    left alone. Once per message."""
    from django.urls import reverse

    message = (
        Message.objects.select_related("ticket").filter(pk=message_id, channel="chat", direction="inbound").first()
    )
    if message is None:
        return None
    session_id = (message.metadata or {}).get("chat_session")
    session = ChatSession.objects.filter(pk=session_id, state=ChatState.BOT).select_related("visitor").first()
    if session is None or not cache.add(f"chat:bot:{message.pk}", 1, timeout=3600):
        return None
    from channels_inbox.bots.models import FlowRun

    if FlowRun.objects.filter(message=message, flow__isnull=False).exists():
        return None
    if message.body_text.lower().strip(" .!?") in HANDOVER_WORDS:
        return None
    if session.ticket_id != message.ticket_id:
        # Tasks may run before the visitor's request has noted the ticket on the chat.
        ChatSession.objects.filter(pk=session.pk).update(ticket=message.ticket_id)
        session.ticket_id = message.ticket_id
    language = session.visitor.language
    entries = kb_suggestions(text=message.body_text, language=language)
    with translation.override(language):
        if entries:
            lines = [_("These articles may answer your question:")]
            for entry in entries:
                url = settings.SITE_URL + reverse("kb:article", kwargs={"slug": entry.article.slug})
                lines.append(f"• {entry.title}: {url}")
            lines.append(_('Not what you need? Press "Talk to a person".'))
            text = "\n".join(lines)
        else:
            text = _("Let me find a person to help you.")
    reply = system_message_queue(
        ticket=message.ticket,
        channel="chat",
        body_text=text,
        kind="bot_reply",
        metadata={"answers": message.pk, "articles": [e.article.pk for e in entries]},
    )
    event_record(
        obj=message.ticket,
        verb="bot_answered",
        data={"flow": "knowledge base", "outcome": "kb_articles" if entries else "handover", "message": message.pk},
        actor=Actor.system(),
    )
    if entries:
        _kb_shown_record(entries, session, message.body_text)
    else:
        chat_handover(visitor=session.visitor)
    return reply


def _kb_shown_record(entries: list[Any], session: ChatSession, query: str) -> None:
    try:
        from kb import services as kb_services
    except ImportError:  # pragma: no cover
        return
    record = getattr(kb_services, "suggestion_shown_record", None)
    if record is None:
        return
    try:
        record(articles=entries, source="chat", visitor_key=f"chat:{session.pk}", query=query)
    except Exception:  # the count is a nicety; the answer is already on its way
        logger.info("Could not record shown KB suggestions for chat %s", session.pk, exc_info=True)
