"""Reads for the SLA engine: which policy and target apply, and calendars ready for arithmetic."""

from __future__ import annotations

from django.db.models import Prefetch

from ..models import Tier
from ..models_sla import BusinessCalendar, SlaLedgerEntry, SlaPolicy, SlaTarget
from .calendars import BusinessHours, DaysOff, holiday_dates

_TIER_RANK = {value: rank for rank, value in enumerate(Tier.values)}


def business_hours_get(*, calendar_id: int) -> BusinessHours:
    """A stored calendar as a `BusinessHours` value (two queries)."""
    calendar = BusinessCalendar.objects.prefetch_related("intervals", "holidays").get(pk=calendar_id)
    return business_hours_of(calendar)


def business_hours_of(calendar: BusinessCalendar) -> BusinessHours:
    public = holiday_dates(calendar.holiday_country, calendar.holiday_subdivision) if calendar.holiday_country else None
    return BusinessHours.build(
        time_zone=calendar.time_zone,
        intervals=[(i.weekday, i.start_time, i.end_time) for i in calendar.intervals.all()],
        days_off=DaysOff(public=public, custom=frozenset(h.date for h in calendar.holidays.all())),
        name=calendar.name,
    )


def ticket_effective_tier(ticket) -> str:
    """The customer tier a ticket is served at: the higher of the requester's own tier and
    the tier of the ticket's organization."""
    tiers = [ticket.requester.tier]
    if ticket.organization_id is not None:
        tiers.append(ticket.organization.tier)
    return max(tiers, key=lambda t: _TIER_RANK.get(t, -1))


def sla_policies_active() -> list[SlaPolicy]:
    return list(
        SlaPolicy.objects.filter(is_active=True)
        .select_related("calendar")
        .prefetch_related(
            Prefetch("targets", queryset=SlaTarget.objects.order_by("metric", "priority")),
            "organizations",
            "teams",
        )
        .order_by("position", "id")
    )


def sla_policy_matches(policy: SlaPolicy, ticket, *, tier: str) -> bool:
    if policy.priorities and ticket.priority not in policy.priorities:
        return False
    if policy.tiers and tier not in policy.tiers:
        return False
    if policy.channels and ticket.channel not in policy.channels:
        return False
    organizations = {o.pk for o in policy.organizations.all()}
    if organizations and ticket.organization_id not in organizations:
        return False
    teams = {t.pk for t in policy.teams.all()}
    if teams and ticket.team_id not in teams:
        return False
    return True


def sla_policy_for(ticket, *, policies: list[SlaPolicy] | None = None) -> SlaPolicy | None:
    """The first active policy, by position, whose conditions all match the ticket."""
    tier = ticket_effective_tier(ticket)
    for policy in sla_policies_active() if policies is None else policies:
        if sla_policy_matches(policy, ticket, tier=tier):
            return policy
    return None


def sla_target_for(policy: SlaPolicy, *, metric: str, priority: str) -> SlaTarget | None:
    """The policy's target for the metric at this priority, else its any-priority target."""
    fallback = None
    for target in policy.targets.all():
        if target.metric != metric:
            continue
        if target.priority == priority:
            return target
        if not target.priority:
            fallback = target
    return fallback


def sla_ledger_list(*, ticket_id: int) -> list[SlaLedgerEntry]:
    return list(SlaLedgerEntry.objects.filter(ticket_id=ticket_id).order_by("at", "id"))
