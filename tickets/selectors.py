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
