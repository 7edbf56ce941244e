"""Reads the API needs beyond tickets.selectors."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from ..models import Attachment, Event, Message, Ticket
from .permissions import is_agent


def message_list(*, ticket: Ticket, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Message]:
    """A ticket's messages as `user` may see them: customers see no internal notes. The
    caller has already checked that the ticket is visible (ticket_get)."""
    messages = Message.objects.filter(ticket=ticket).select_related("author_user", "author_customer")
    if not is_agent(user):
        messages = messages.filter(is_internal=False)
    return messages.prefetch_related("attachments")


def event_list(*, ticket: Ticket) -> QuerySet[Event]:
    """A ticket's audit trail (for agents only; customers see no events)."""
    return Event.objects.filter(ticket=ticket).select_related("actor_user", "actor_customer")


def agent_list() -> QuerySet:
    """Active agents, with what their summaries need in two queries."""
    return (
        get_user_model()
        .objects.filter(agent_profile__isnull=False, is_active=True)
        .select_related("agent_profile")
        .prefetch_related("agent_profile__teams")
    )


def attachment_list(*, ticket: Ticket, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Attachment]:
    """A ticket's attachments as `user` may see them: customers none of internal notes (the
    same rule as the agent workspace and the portal). The ticket is already checked visible."""
    attachments = Attachment.objects.filter(message__ticket=ticket)
    if not is_agent(user):
        attachments = attachments.filter(message__is_internal=False)
    return attachments
