"""Fixtures for the SLA engine: business-hours calendars and policies."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tests.factories import TicketFactory
from tickets.models_sla import (
    BusinessCalendar,
    BusinessHoliday,
    BusinessInterval,
    SlaClock,
    SlaLedgerEntry,
    SlaPolicy,
    SlaTarget,
)
from tickets.sla.services import sla_apply

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


def calendar_create(name: str, time_zone: str, *, days=range(5), start=dt.time(9), end=dt.time(17), **kwargs):
    calendar = BusinessCalendar.objects.create(name=name, time_zone=time_zone, **kwargs)
    BusinessInterval.objects.bulk_create(
        [BusinessInterval(calendar=calendar, weekday=d, start_time=start, end_time=end) for d in days]
    )
    return calendar


def policy_create(name: str, *, targets: dict[str, int], calendar=None, business: bool = True, **kwargs) -> SlaPolicy:
    """A policy with one any-priority target per metric given (in minutes)."""
    policy = SlaPolicy.objects.create(name=name, calendar=calendar, **kwargs)
    for metric, minutes in targets.items():
        SlaTarget.objects.create(policy=policy, metric=metric, minutes=minutes, business_hours=business)
    return policy


@pytest.fixture
def eu_support(db):
    """Monday to Friday 09:00-17:00 in Berlin, with Berlin's public holidays."""
    return calendar_create("EU support", "Europe/Berlin", holiday_country="DE", holiday_subdivision="BE")


def sla_one_of_each() -> dict:
    """A row of every SLA model, e.g. for the every-admin-page-opens test."""
    calendar = calendar_create("Admin test hours", "Europe/London", holiday_country="GB")
    BusinessHoliday.objects.create(calendar=calendar, date=dt.date(2025, 12, 24), name="Christmas Eve")
    policy = policy_create("Admin test policy", calendar=calendar, targets={"first_response": 60})
    ticket = TicketFactory()
    sla_apply(ticket)
    return {
        BusinessCalendar: calendar,
        BusinessInterval: calendar.intervals.first(),
        BusinessHoliday: calendar.holidays.first(),
        SlaPolicy: policy,
        SlaTarget: policy.targets.first(),
        SlaClock: SlaClock.objects.get(ticket=ticket),
        SlaLedgerEntry: SlaLedgerEntry.objects.filter(ticket=ticket).first(),
    }
