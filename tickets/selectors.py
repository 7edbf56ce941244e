"""Reads: which tickets a person may see, and lists that stay fast at scale."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from .models import UNSOLVED_STATUSES, Event, Message, Ticket, TicketStatus


def ticket_visibility_q(user: AbstractBaseUser | AnonymousUser) -> Q:
    """What `user` may see: everything with the view-all permission; an agent their teams'
    tickets, tickets with no team and tickets assigned to them; a customer their own."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.is_superuser or user.has_perm("tickets.view_all_tickets"):
        return Q()
    profile = getattr(user, "agent_profile", None)
    if profile is not None and user.has_perm("tickets.view_ticket"):
        return Q(team__isnull=True) | Q(team__in=profile.teams.all()) | Q(assignee=user)
    customer = getattr(user, "customer", None)
    if customer is not None:
        return Q(requester=customer)
    return Q(pk__in=[])


def ticket_list(
    *, user: AbstractBaseUser | AnonymousUser, filters: Mapping[str, Any] | None = None
) -> QuerySet[Ticket]:
    filters = dict(filters or {})
    qs = Ticket.objects.filter(ticket_visibility_q(user))
    status = filters.get("status")
    if status == "unsolved":
        qs = qs.filter(status__in=UNSOLVED_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    for key in ("assignee", "team", "channel", "priority", "requester", "organization"):
        if filters.get(key) not in (None, ""):
            qs = qs.filter(**{key: filters[key]})
    if filters.get("unassigned"):
        qs = qs.filter(assignee__isnull=True)
    return (
        qs.select_related("requester", "assignee", "team", "organization")
        .prefetch_related("tags")
        .order_by("-updated_at", "-id")
    )


def ticket_get(*, user: AbstractBaseUser | AnonymousUser, number: int) -> Ticket:
    """One ticket by number; 404 whether it does not exist or is not the user's to see, so
    that guessing numbers tells nothing."""
    ticket = (
        Ticket.objects.filter(ticket_visibility_q(user), number=number)
        .select_related("requester", "assignee", "team", "organization", "merged_into")
        .first()
    )
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


def ticket_timeline(*, ticket: Ticket, user: AbstractBaseUser | AnonymousUser) -> list[Message | Event]:
    """Messages and events of a ticket in time order; customers see no notes or events."""
    is_agent = hasattr(user, "agent_profile") or user.is_superuser
    messages = ticket.messages.select_related("author_user", "author_customer").prefetch_related("attachments")
    if not is_agent:
        if getattr(user, "customer", None) is None or ticket.requester_id != user.customer.pk:
            raise PermissionDenied
        messages = messages.filter(is_internal=False)
        return list(messages)
    events = ticket.events.exclude(verb__in=["message_received", "reply_queued", "note_added"]).select_related(
        "actor_user", "actor_customer"
    )
    items: list[Message | Event] = [*messages, *events]
    items.sort(key=lambda item: (item.created_at, 0 if isinstance(item, Message) else 1, item.pk))
    return items


def ticket_queue_counts(*, user: AbstractBaseUser) -> dict[str, int]:
    """Counts for an agent's home: one query."""
    visible = Ticket.objects.filter(ticket_visibility_q(user))
    return visible.aggregate(
        mine=Count("pk", filter=Q(assignee=user, status__in=UNSOLVED_STATUSES)),
        unassigned=Count("pk", filter=Q(assignee__isnull=True, status__in=UNSOLVED_STATUSES)),
        unsolved=Count("pk", filter=Q(status__in=UNSOLVED_STATUSES)),
        pending=Count("pk", filter=Q(status=TicketStatus.PENDING)),
        on_hold=Count("pk", filter=Q(status=TicketStatus.ON_HOLD)),
    )


# --- Agent workspace (issue 3) ------------------------------------------------------------------

# Text search configuration. One fixed configuration, so that GIN expression indexes on
# to_tsvector('english', subject) and to_tsvector('english', body_text) can serve the queries;
# Portuguese and Russian words still match as whole words (they are not stemmed).
TICKET_SEARCH_CONFIG = "english"


def ticket_search(*, queryset: QuerySet[Ticket], query: str) -> QuerySet[Ticket]:
    """Narrow `queryset` to tickets whose subject or any message text matches `query`
    (web-search syntax on PostgreSQL: words, "a phrase", -excluded, or). "#123" or "123"
    also finds ticket number 123. Other databases fall back to a case-insensitive substring."""
    from django.db import connection

    query = " ".join((query or "").split())
    if not query:
        return queryset
    by_number = Q()
    if query.lstrip("#").isdigit():
        by_number = Q(number=int(query.lstrip("#")))
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        search = SearchQuery(query, search_type="websearch", config=TICKET_SEARCH_CONFIG)
        in_messages = (
            Message.objects.alias(document=SearchVector("body_text", config=TICKET_SEARCH_CONFIG))
            .filter(document=search)
            .values("ticket_id")
        )
        in_subjects = (
            Ticket.objects.alias(document=SearchVector("subject", config=TICKET_SEARCH_CONFIG))
            .filter(document=search)
            .values("pk")
        )
        # One set of ids from both GIN indexes, so the list is not scanned row by row.
        return queryset.filter(Q(pk__in=in_subjects.union(in_messages)) | by_number)
    in_messages = Message.objects.filter(body_text__icontains=query).values("ticket_id")
    return queryset.filter(Q(subject__icontains=query) | Q(pk__in=in_messages) | by_number)


# How long a solved ticket stays in "Recently solved".
RECENTLY_SOLVED_DAYS = 7

TICKET_QUEUES = ("mine", "unassigned", "unsolved", "pending", "on_hold", "recently_solved", "all")


def ticket_queue_q(*, user: AbstractBaseUser, queue: str) -> Q:
    """The condition behind one of the agent's views (queues)."""
    from datetime import timedelta

    from django.utils import timezone

    unsolved = Q(status__in=UNSOLVED_STATUSES)
    if queue == "mine":
        return unsolved & Q(assignee=user)
    if queue == "unassigned":
        return unsolved & Q(assignee__isnull=True)
    if queue == "unsolved":
        return unsolved
    if queue == "pending":
        return Q(status=TicketStatus.PENDING)
    if queue == "on_hold":
        return Q(status=TicketStatus.ON_HOLD)
    if queue == "recently_solved":
        since = timezone.now() - timedelta(days=RECENTLY_SOLVED_DAYS)
        return Q(status__in=[TicketStatus.SOLVED, TicketStatus.CLOSED], solved_at__gte=since)
    if queue == "all":
        return Q()
    raise ValueError(f"Unknown queue {queue!r}")


def ticket_queue(*, user: AbstractBaseUser, queue: str) -> QuerySet[Ticket]:
    """The tickets of one view that `user` may see (sorted newest change first)."""
    return ticket_list(user=user).filter(ticket_queue_q(user=user, queue=queue))


def ticket_workspace_counts(*, user: AbstractBaseUser) -> dict[str, int]:
    """The number of tickets in each view but "all", in one query."""
    visible = Ticket.objects.filter(ticket_visibility_q(user))
    return visible.aggregate(
        **{
            queue: Count("pk", filter=ticket_queue_q(user=user, queue=queue))
            for queue in TICKET_QUEUES
            if queue != "all"
        }
    )


def ticket_priority_rank() -> Any:
    """An expression ordering priorities low < normal < high < urgent (the stored values sort
    alphabetically otherwise)."""
    from django.db.models import Case, IntegerField, Value, When

    from .models import TicketPriority

    return Case(
        *[When(priority=value, then=Value(rank)) for rank, value in enumerate(TicketPriority.values)],
        default=Value(0),
        output_field=IntegerField(),
    )


def agent_assignable_list() -> QuerySet:
    """Active agents whose role lets them work tickets, for assignee pickers."""
    from django.contrib.auth import get_user_model

    from .models import AgentRole

    return (
        get_user_model()
        .objects.filter(is_active=True, agent_profile__role__in=[AgentRole.ADMIN, AgentRole.MANAGER, AgentRole.AGENT])
        .order_by("first_name", "last_name", "username")
    )


def ticket_reply_channels(*, ticket: Ticket) -> list[str]:
    """Channels an agent can answer this ticket on: the default (reply_channel_for) first, then
    every channel one of the customer's identities can be reached on where a sender is set up."""
    from .outbound import sender_for
    from .services.tickets import IDENTITY_CHANNEL, reply_channel_for

    channels = [reply_channel_for(ticket)]
    kinds = set(ticket.requester.identities.values_list("kind", flat=True))
    for kind, channel in IDENTITY_CHANNEL.items():
        if kind in kinds and channel not in channels and sender_for(channel) is not None:
            channels.append(channel)
    return channels


def customer_recent_tickets(
    *, user: AbstractBaseUser, customer_id: int, exclude_id: int | None = None, limit: int = 5
) -> list[Ticket]:
    """The customer's other most recently changed tickets that `user` may see."""
    qs = Ticket.objects.filter(ticket_visibility_q(user), requester_id=customer_id)
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return list(qs.order_by("-updated_at", "-id")[:limit])


def macro_list_for(*, user: AbstractBaseUser) -> QuerySet:
    """Active macros available to `user`: everyone's and their teams'."""
    from .models import Macro

    qs = Macro.objects.filter(is_active=True)
    profile = getattr(user, "agent_profile", None)
    if user.is_superuser or user.has_perm("tickets.view_all_tickets"):
        return qs.order_by("name")
    if profile is None:
        return qs.none()
    return qs.filter(Q(team__isnull=True) | Q(team__in=profile.teams.all())).order_by("name")
