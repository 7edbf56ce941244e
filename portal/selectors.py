"""Reads of the customer portal: which requests a signed-in customer may see, and their pages.

A customer sees their own requests; and, when their organization allows it (see
portal.models.OrganizationPortalAccess), the requests of their organization. Everything else is
a 404, whatever number is typed, so guessing tells nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from metrics.models import Survey, SurveyKind
from tickets.models import Attachment, Customer, Message, Ticket, TicketStatus

from .models import OrganizationPortalAccess


def portal_sees_organization(customer: Customer) -> bool:
    """Whether `customer` may see their organization's requests (shared, or a manager)."""
    if customer.organization_id is None:
        return False
    return (
        OrganizationPortalAccess.objects.filter(organization_id=customer.organization_id)
        .filter(Q(share_tickets=True) | Q(managers=customer))
        .exists()
    )


def portal_ticket_q(customer: Customer, *, organization: bool | None = None) -> Q:
    """The requests `customer` may open in the portal."""
    if organization is None:
        organization = portal_sees_organization(customer)
    q = Q(requester=customer)
    if organization:
        q |= Q(organization_id=customer.organization_id)
    return q


def portal_ticket_visible(*, customer: Customer, ticket: Ticket) -> bool:
    if ticket.requester_id == customer.pk:
        return True
    return Ticket.objects.filter(portal_ticket_q(customer), pk=ticket.pk).exists()


@dataclass(frozen=True)
class PortalTicketLists:
    mine: list[Ticket]
    organization: list[Ticket]  # others' requests of the organization; empty when not allowed
    sees_organization: bool


def portal_ticket_lists(*, customer: Customer, limit: int = 200) -> PortalTicketLists:
    """The customer's own requests, and their organization's (others'), newest change first."""
    mine = list(Ticket.objects.filter(requester=customer).order_by("-updated_at", "-id")[:limit])
    sees = portal_sees_organization(customer)
    others: list[Ticket] = []
    if sees:
        others = list(
            Ticket.objects.filter(organization_id=customer.organization_id)
            .exclude(requester=customer)
            .select_related("requester")
            .order_by("-updated_at", "-id")[:limit]
        )
    return PortalTicketLists(mine=mine, organization=others, sees_organization=sees)


def portal_ticket_get(*, customer: Customer, number: int) -> Ticket:
    """One request the customer may see, by number; 404 otherwise (also for merged-away ones
    that belong to someone else)."""
    ticket = (
        Ticket.objects.filter(portal_ticket_q(customer), number=number)
        .select_related("requester", "organization")
        .first()
    )
    if ticket is None:
        raise Http404("No such request.")
    return ticket


def portal_ticket_messages(*, ticket: Ticket) -> list[Message]:
    """What the customer side of a request shows: every message but internal notes."""
    return list(
        ticket.messages.filter(is_internal=False)
        .select_related("author_user", "author_customer")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )


def portal_attachment_get(*, ticket: Ticket, attachment_id: int) -> Attachment:
    """A stored attachment of a public message of `ticket` (which the caller already checked)."""
    attachment = (
        Attachment.objects.filter(pk=attachment_id, message__ticket=ticket, message__is_internal=False, stored=True)
        .exclude(file="")
        .first()
    )
    if attachment is None:
        raise Http404("No such attachment.")
    return attachment


# --- Ratings -------------------------------------------------------------------------------------


def portal_rating_days() -> int:
    """Days after solving during which the requester may rate, and change the rating
    (setting PORTAL_RATING_DAYS)."""
    return int(getattr(settings, "PORTAL_RATING_DAYS", 14))


@dataclass(frozen=True)
class PortalRating:
    csat: Survey | None
    ces: Survey | None
    can_rate: bool  # the form is shown: requester, solved or closed, within the window

    @property
    def answered(self) -> bool:
        return self.csat is not None and self.csat.score is not None


def portal_rating_open(*, customer: Customer, ticket: Ticket, now: dt.datetime | None = None) -> bool:
    """Only the requester rates, once the request is solved or closed, for PORTAL_RATING_DAYS."""
    if ticket.requester_id != customer.pk or ticket.status not in (TicketStatus.SOLVED, TicketStatus.CLOSED):
        return False
    solved = ticket.solved_at or ticket.closed_at or ticket.updated_at
    return (now or timezone.now()) <= solved + dt.timedelta(days=portal_rating_days())


def portal_rating_get(*, customer: Customer, ticket: Ticket, now: dt.datetime | None = None) -> PortalRating:
    surveys = {s.kind: s for s in Survey.objects.filter(ticket=ticket, kind__in=(SurveyKind.CSAT, SurveyKind.CES))}
    csat, ces = surveys.get(SurveyKind.CSAT), surveys.get(SurveyKind.CES)
    return PortalRating(
        csat=csat if csat and csat.score is not None else None,
        ces=ces if ces and ces.score is not None else None,
        can_rate=portal_rating_open(customer=customer, ticket=ticket, now=now),
    )
