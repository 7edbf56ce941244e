"""Reads for routing: the active rules, and the agents of a team who may take a ticket now."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from tickets.models import UNSOLVED_STATUSES, AgentProfile, AgentRole, Message, MessageDirection, Ticket
from tickets.sla.calendars import BusinessHours
from tickets.sla.selectors import business_hours_of

from .models import AgentSchedule, ChatOffer, OfferState, RoutingRule, Skill

# Roles whose members can be given tickets (light agents only write internal notes).
ASSIGNABLE_ROLES = (AgentRole.AGENT, AgentRole.MANAGER, AgentRole.ADMIN)


def routing_rules_active() -> list[RoutingRule]:
    return list(
        RoutingRule.objects.filter(is_active=True)
        .select_related("set_team")
        .prefetch_related("organizations")
        .order_by("position", "id")
    )


def ticket_first_message_text(*, ticket_id: int) -> str:
    """The body of the customer's first message (empty when the ticket has none yet)."""
    return (
        Message.objects.filter(ticket_id=ticket_id, direction=MessageDirection.INBOUND)
        .order_by("created_at", "id")
        .values_list("body_text", flat=True)
        .first()
    ) or ""


@dataclass
class Candidate:
    """One agent of a team who may take a ticket now (available, active, within hours)."""

    user: AbstractBaseUser
    profile_id: int
    load: int  # unsolved tickets assigned plus chats offered and not yet answered
    capacity: int
    last_assigned_at: dt.datetime | None
    skills: dict[str, int] = field(default_factory=dict)

    @property
    def user_id(self) -> int:
        return self.user.pk

    @property
    def has_room(self) -> bool:
        return self.load < self.capacity


def _open_tickets_of_agent() -> Subquery:
    return Subquery(
        Ticket.objects.filter(assignee_id=OuterRef("user_id"), status__in=UNSOLVED_STATUSES)
        .order_by()
        .values("assignee_id")
        .annotate(n=Count("id"))
        .values("n"),
        output_field=IntegerField(),
    )


def _open_offers_of_agent() -> Subquery:
    return Subquery(
        ChatOffer.objects.filter(agent_id=OuterRef("user_id"), state=OfferState.OFFERED)
        .order_by()
        .values("agent_id")
        .annotate(n=Count("id"))
        .values("n"),
        output_field=IntegerField(),
    )


def team_agents_available(*, team_id: int) -> QuerySet[AgentProfile]:
    """The team's active, available agents whose role can work tickets, with their load."""
    return (
        AgentProfile.objects.filter(teams=team_id, is_available=True, user__is_active=True, role__in=ASSIGNABLE_ROLES)
        .select_related("user", "schedule__calendar")
        .prefetch_related("skills__skill", "schedule__calendar__intervals", "schedule__calendar__holidays")
        .annotate(
            open_tickets=Coalesce(_open_tickets_of_agent(), 0),
            open_offers=Coalesce(_open_offers_of_agent(), 0),
        )
        .order_by("user_id")
    )


def assignment_candidates(*, team_id: int, now: dt.datetime) -> list[Candidate]:
    """Who of the team may be given a ticket at `now`: available, active, in a role that works
    tickets and within their working hours (capacity is checked by the strategy, which also
    counts what it hands out meanwhile). A fixed number of queries, whatever the team size."""
    hours: dict[int, BusinessHours] = {}
    result = []
    for profile in team_agents_available(team_id=team_id):
        schedule = _schedule_of(profile)
        if schedule is not None and schedule.calendar is not None:
            calendar = schedule.calendar
            if calendar.pk not in hours:
                hours[calendar.pk] = business_hours_of(calendar)
            if not hours[calendar.pk].is_open(now):
                continue
        result.append(
            Candidate(
                user=profile.user,
                profile_id=profile.pk,
                load=profile.open_tickets + profile.open_offers,
                capacity=profile.capacity,
                last_assigned_at=schedule.last_assigned_at if schedule is not None else None,
                skills={s.skill.name: s.level for s in profile.skills.all()},
            )
        )
    return result


def _schedule_of(profile: AgentProfile) -> AgentSchedule | None:
    try:
        return profile.schedule
    except AgentSchedule.DoesNotExist:
        return None


def skill_names() -> frozenset[str]:
    return frozenset(Skill.objects.values_list("name", flat=True))


def chat_offers_pending(*, user: AbstractBaseUser, now: dt.datetime) -> QuerySet[ChatOffer]:
    """The chats offered to `user` that they can still accept, the most urgent first."""
    return (
        ChatOffer.objects.filter(agent=user, state=OfferState.OFFERED, expires_at__gt=now)
        .select_related("ticket__requester", "ticket__team")
        .order_by("expires_at", "id")
    )


def ticket_offer_history(*, ticket_id: int) -> tuple[set[int], set[int]]:
    """(agents who declined this ticket, agents who let an offer of it expire)."""
    declined: set[int] = set()
    expired: set[int] = set()
    rows = ChatOffer.objects.filter(ticket_id=ticket_id).filter(
        Q(state=OfferState.DECLINED) | Q(state=OfferState.EXPIRED)
    )
    for agent_id, state in rows.values_list("agent_id", "state"):
        (declined if state == OfferState.DECLINED else expired).add(agent_id)
    return declined, expired - declined
