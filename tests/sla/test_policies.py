"""Which SLA policy a ticket gets, and the deadlines it sets on new tickets."""

from __future__ import annotations

import datetime as dt
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from tests.factories import CustomerFactory, OrganizationFactory, TeamFactory, TicketFactory
from tickets.models_sla import BusinessCalendar, SlaLedgerEntry, SlaPolicy, SlaTarget
from tickets.services.events import Actor
from tickets.services.tickets import ticket_update
from tickets.sla.selectors import sla_policy_for
from tickets.sla.services import sla_apply

from .conftest import berlin, calendar_create, policy_create

pytestmark = pytest.mark.django_db


def test_first_matching_policy_by_position_wins_and_empty_conditions_match_anything():
    org = OrganizationFactory(tier="enterprise")
    team = TeamFactory()
    fallback = policy_create("Everyone", targets={"resolution": 600}, position=90)
    urgent_chat = policy_create(
        "Urgent chat", targets={"resolution": 60}, position=10, priorities=["urgent"], channels=["chat"]
    )
    vip = policy_create("Enterprise", targets={"resolution": 120}, position=20, tiers=["enterprise"])
    billing = policy_create("Billing team", targets={"resolution": 240}, position=30)
    billing.teams.add(team)
    policy_create("Switched off", targets={"resolution": 1}, position=0, is_active=False)

    assert sla_policy_for(TicketFactory(priority="urgent", channel="chat")) == urgent_chat
    assert sla_policy_for(TicketFactory(priority="urgent", channel="email")) == fallback
    # the organization's tier counts when it is higher than the requester's own
    requester = CustomerFactory(organization=org)
    assert sla_policy_for(TicketFactory(requester=requester, organization=org)) == vip
    assert sla_policy_for(TicketFactory(requester=CustomerFactory(tier="enterprise"))) == vip
    assert sla_policy_for(TicketFactory(team=team)) == billing


def test_organization_condition():
    acme = OrganizationFactory()
    acme_policy = policy_create("Acme", targets={"resolution": 60})
    acme_policy.organizations.add(acme)
    assert sla_policy_for(TicketFactory(organization=acme)) == acme_policy
    assert sla_policy_for(TicketFactory()) is None


def test_new_ticket_gets_deadlines_in_business_hours(eu_support):
    policy_create("Premium", calendar=eu_support, targets={"first_response": 240, "resolution": 16 * 60})
    ticket = TicketFactory(created_at=berlin(2025, 3, 12, 10, 30))  # a Wednesday
    sla_apply(ticket)
    assert ticket.first_response_due_at == berlin(2025, 3, 12, 14, 30)
    assert ticket.resolution_due_at == berlin(2025, 3, 14, 10, 30)
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == berlin(2025, 3, 12, 14, 30)
    assert ticket.next_response_due_at is None
    kinds = list(SlaLedgerEntry.objects.filter(ticket=ticket).values_list("metric", "kind"))
    assert sorted(kinds) == [("first_response", "activated"), ("resolution", "activated")]


def test_applying_twice_changes_nothing(eu_support):
    policy_create("Premium", calendar=eu_support, targets={"first_response": 240})
    ticket = TicketFactory(created_at=berlin(2025, 3, 12, 10, 30))
    sla_apply(ticket)
    sla_apply(ticket)
    assert SlaLedgerEntry.objects.filter(ticket=ticket).count() == 1


def test_calendar_time_target_ignores_business_hours(eu_support):
    policy_create("Around the clock", calendar=eu_support, business=False, targets={"first_response": 60})
    ticket = TicketFactory(created_at=berlin(2025, 3, 15, 23, 30))  # Saturday night
    sla_apply(ticket)
    assert ticket.first_response_due_at == berlin(2025, 3, 16, 0, 30)


def test_deadline_over_a_weekend_and_the_spring_dst_change_in_new_york():
    nyc = calendar_create("US support", "America/New_York")
    policy_create("US", calendar=nyc, targets={"first_response": 240})
    ny = ZoneInfo("America/New_York")
    ticket = TicketFactory(created_at=dt.datetime(2025, 3, 7, 15, 0, tzinfo=ny))  # Friday, EST
    sla_apply(ticket)
    assert ticket.first_response_due_at == dt.datetime(2025, 3, 10, 11, 0, tzinfo=ny)  # Monday, EDT
    assert ticket.first_response_due_at.astimezone(dt.UTC).hour == 15


def test_targets_per_priority_and_priority_change_recalculates(eu_support):
    policy = policy_create("Premium", calendar=eu_support, targets={"first_response": 480})
    SlaTarget.objects.create(policy=policy, metric="first_response", priority="urgent", minutes=60)
    ticket = TicketFactory(created_at=berlin(2025, 3, 12, 10, 30))
    sla_apply(ticket, now=berlin(2025, 3, 12, 10, 30))
    assert ticket.first_response_due_at == berlin(2025, 3, 13, 10, 30)

    with mock.patch("django.utils.timezone.now", return_value=berlin(2025, 3, 12, 11, 0)):
        ticket_update(ticket=ticket, changes={"priority": "urgent"}, actor=Actor.system())  # re-applies the SLA
    # 30 business minutes were already used; 30 are left from 11:00
    assert ticket.first_response_due_at == berlin(2025, 3, 12, 11, 30)
    entry = SlaLedgerEntry.objects.get(ticket=ticket, kind="recalculated")
    assert entry.details["why"] == "ticket changed"
    assert entry.details["before"] == {"target_minutes": 480, "business": True}


def test_policy_edited_on_a_live_ticket_and_a_ticket_no_policy_matches_any_more(eu_support):
    policy = policy_create("Premium", calendar=eu_support, targets={"first_response": 240}, priorities=["normal"])
    ticket = TicketFactory(created_at=berlin(2025, 3, 12, 10, 30))
    sla_apply(ticket, now=berlin(2025, 3, 12, 10, 30))
    SlaTarget.objects.filter(policy=policy).update(minutes=120)
    sla_apply(ticket, now=berlin(2025, 3, 12, 11, 0), why="policy edited")
    assert ticket.first_response_due_at == berlin(2025, 3, 12, 12, 30)

    with mock.patch("django.utils.timezone.now", return_value=berlin(2025, 3, 12, 11, 30)):
        ticket_update(ticket=ticket, changes={"priority": "low"}, actor=Actor.system())
    assert ticket.first_response_due_at is None
    stopped = SlaLedgerEntry.objects.get(ticket=ticket, kind="stopped")
    assert stopped.details["why"] == "no_policy"

    # back to normal: the clock carries on with the 60 business minutes it had used
    with mock.patch("django.utils.timezone.now", return_value=berlin(2025, 3, 12, 14, 0)):
        ticket_update(ticket=ticket, changes={"priority": "normal"}, actor=Actor.system())
    assert ticket.first_response_due_at == berlin(2025, 3, 12, 15, 0)


def test_no_policy_no_deadlines():
    ticket = TicketFactory()
    assert sla_apply(ticket) is None
    assert ticket.first_response_due_at is None and ticket.resolution_due_at is None


def test_model_validation():
    calendar = BusinessCalendar(name="x", time_zone="Mars/Olympus", holiday_country="ZZ")
    with pytest.raises(ValidationError) as exc:
        calendar.full_clean()
    assert set(exc.value.message_dict) == {"time_zone", "holiday_country"}
    assert (
        BusinessCalendar(
            name="y", time_zone="Europe/London", holiday_country="gb", holiday_subdivision="sct"
        ).full_clean()
        is None
    )
    with pytest.raises(ValidationError):
        SlaPolicy(name="p", priorities=["urgentest"]).full_clean()
