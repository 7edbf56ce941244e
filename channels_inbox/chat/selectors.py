"""Reads of live chat: a visitor's open chat and its messages, the agents' queue and chats,
whether anybody can answer now, and the message shapes the sockets send."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from tickets.models import UNSOLVED_STATUSES, AuthorKind, Message, MessageDirection
from tickets.selectors import ticket_visibility_q

from .models import OPEN_CHAT_STATES, ChatAgentStatus, ChatSession, ChatState, ChatVisitor

FILE_SALT = "chat.file"
# An agent console not heard of for this long is taken as gone (a crashed server).
ONLINE_GRACE = dt.timedelta(minutes=2)


def session_open_for(*, visitor: ChatVisitor) -> ChatSession | None:
    return (
        ChatSession.objects.filter(visitor=visitor, state__in=OPEN_CHAT_STATES)
        .select_related("ticket", "agent")
        .first()
    )


def session_messages(*, session: ChatSession, limit: int = 200) -> list[Message]:
    """The conversation the visitor sees: public messages of the chat's ticket since it started."""
    if session.ticket_id is None:
        return []
    rows = (
        Message.objects.filter(ticket_id=session.ticket_id, is_internal=False, created_at__gte=session.started_at)
        .select_related("author_user", "author_customer")
        .prefetch_related("attachments")
        .order_by("-created_at", "-id")[:limit]
    )
    return list(reversed(rows))


def agent_chat_limit(*, user: AbstractBaseUser) -> int:
    status = ChatAgentStatus.objects.filter(user=user).values_list("max_chats", flat=True).first()
    return status or settings.CHAT_MAX_CHATS_PER_AGENT


def agent_open_chats(*, user: AbstractBaseUser) -> QuerySet[ChatSession]:
    """The chats this agent is in: open sessions whose ticket is assigned to them."""
    return (
        ChatSession.objects.filter(
            state__in=OPEN_CHAT_STATES, ticket__assignee=user, ticket__status__in=UNSOLVED_STATUSES
        )
        .select_related("visitor", "ticket")
        .order_by("started_at")
    )


def agents_at_chat_limit(user_ids: list[int]) -> set[int]:
    """Of these agents, those who may not be offered another chat: their open chats plus the
    chat offers waiting for their answer reach their chat limit. Three queries, any number of
    agents (routing asks this before offering a chat)."""
    if not user_ids:
        return set()
    from tickets.routing.models import ChatOffer, OfferState

    limits = dict(ChatAgentStatus.objects.filter(user_id__in=user_ids).values_list("user_id", "max_chats"))
    busy = dict(
        ChatSession.objects.filter(
            state__in=OPEN_CHAT_STATES, ticket__assignee_id__in=user_ids, ticket__status__in=UNSOLVED_STATUSES
        )
        .values("ticket__assignee_id")
        .annotate(n=Count("id"))
        .values_list("ticket__assignee_id", "n")
    )
    offered = dict(
        ChatOffer.objects.filter(agent_id__in=user_ids, state=OfferState.OFFERED)
        .values("agent_id")
        .annotate(n=Count("id"))
        .values_list("agent_id", "n")
    )
    full = set()
    for user_id in user_ids:
        limit = limits.get(user_id) or settings.CHAT_MAX_CHATS_PER_AGENT
        if busy.get(user_id, 0) + offered.get(user_id, 0) >= limit:
            full.add(user_id)
    return full


def chat_queue(*, user: AbstractBaseUser) -> QuerySet[ChatSession]:
    """Chats waiting for someone (no assignee yet) on tickets this agent may see."""
    return (
        ChatSession.objects.filter(
            state__in=(ChatState.BOT, ChatState.WAITING, ChatState.OFFLINE),
            ticket__isnull=False,
            ticket__assignee__isnull=True,
        )
        .filter(ticket__in=_visible_tickets(user))
        .select_related("visitor", "ticket")
        .order_by("started_at")
    )


def _visible_tickets(user: AbstractBaseUser):
    from tickets.models import Ticket

    return Ticket.objects.filter(ticket_visibility_q(user)).values("id")


def agents_online_count(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    return (
        ChatAgentStatus.objects.filter(
            connections__gt=0,
            last_seen_at__gte=now - ONLINE_GRACE,
            user__is_active=True,
            user__agent_profile__is_available=True,
        ).aggregate(n=Count("id"))["n"]
        or 0
    )


def within_chat_hours(*, now: dt.datetime | None = None) -> bool:
    """Inside the business hours of CHAT_BUSINESS_CALENDAR (always, when none is named)."""
    name = settings.CHAT_BUSINESS_CALENDAR
    if not name:
        return True
    from tickets.models_sla import BusinessCalendar
    from tickets.sla.selectors import business_hours_of

    calendar = BusinessCalendar.objects.filter(name=name).first()
    if calendar is None:
        return True
    return business_hours_of(calendar).is_open(now or timezone.now())


def chat_staffed(*, now: dt.datetime | None = None) -> bool:
    """Can a person answer a chat now: within chat hours and an agent has the console open."""
    return within_chat_hours(now=now) and agents_online_count(now=now) > 0


# --- What the sockets send --------------------------------------------------------------------


def _author(message: Message) -> tuple[str, str]:
    if message.direction == MessageDirection.INBOUND:
        return "visitor", (message.author_customer.name if message.author_customer_id else "")
    if message.author_kind == AuthorKind.AGENT and message.author_user_id:
        user = message.author_user
        return "agent", (user.first_name or user.get_username())
    if (message.metadata or {}).get("kind") == "bot_reply":
        return "bot", ""
    return "system", ""


def file_link_for_visitor(*, attachment_id: int, visitor_id: int) -> str:
    token = signing.dumps({"a": attachment_id, "v": visitor_id}, salt=FILE_SALT, compress=True)
    return reverse("chat:file", kwargs={"token": token})


def message_payload(message: Message, *, audience: str, visitor_id: int = 0) -> dict[str, Any]:
    """One message as the visitor (audience "visitor") or an agent console ("agent") sees it."""
    author, name = _author(message)
    files = []
    for attachment in message.attachments.all():
        if not attachment.stored:
            continue
        if audience == "visitor":
            url = file_link_for_visitor(attachment_id=attachment.pk, visitor_id=visitor_id)
        else:
            url = reverse("agent:attachment", kwargs={"number": message.ticket.number, "attachment_id": attachment.pk})
        files.append({"name": attachment.filename, "size": attachment.size, "url": url})
    return {
        "id": message.pk,
        "author": author,
        "name": name,
        "text": message.body_text,
        "at": message.created_at.isoformat(),
        "files": files,
    }


def session_summary(session: ChatSession) -> dict[str, Any]:
    visitor = session.visitor
    return {
        "id": session.pk,
        "state": session.state,
        "ticket": session.ticket.number if session.ticket_id else None,
        "visitor": visitor.name or visitor.email or f"#{visitor.pk}",
        "email": visitor.email,
        "language": visitor.language,
        "page": session.page_url,
        "started": session.started_at.isoformat(),
        "visitor_read": session.visitor_read_at.isoformat() if session.visitor_read_at else None,
    }


def console_state(*, user: AbstractBaseUser) -> dict[str, Any]:
    """What the agent console shows: the agent's chats, the queue, offers made to them."""
    from tickets.routing.selectors import chat_offers_pending

    mine = list(agent_open_chats(user=user))
    queue = list(chat_queue(user=user).exclude(pk__in=[s.pk for s in mine])[:50])
    offers = list(chat_offers_pending(user=user, now=timezone.now()))
    offer_sessions = {
        s.ticket_id: s.pk
        for s in ChatSession.objects.filter(
            ticket_id__in=[o.ticket_id for o in offers], state__in=OPEN_CHAT_STATES
        ).only("id", "ticket_id")
    }
    return {
        "type": "state",
        "mine": [session_summary(s) for s in mine],
        "queue": [session_summary(s) for s in queue],
        "offers": [
            {
                "id": o.pk,
                "ticket": o.ticket.number,
                "session": offer_sessions.get(o.ticket_id),
                "expires": o.expires_at.isoformat(),
            }
            for o in offers
        ],
        "limit": agent_chat_limit(user=user),
    }


def visible_session(*, user: AbstractBaseUser, session_id: int) -> ChatSession | None:
    """A chat the agent may open: its ticket is one they can see."""
    return (
        ChatSession.objects.filter(pk=session_id, ticket__isnull=False)
        .filter(Q(ticket__in=_visible_tickets(user)))
        .select_related("visitor", "ticket")
        .first()
    )
