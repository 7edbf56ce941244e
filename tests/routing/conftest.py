"""Fixtures for the routing tests: teams with assignment settings, agents, tickets, rules.
The browser fixtures are the e2e package's own (tests/e2e/conftest.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.e2e.conftest import _async_unsafe_allowed, browser, page, screenshot  # noqa: F401
from tests.factories import CustomerFactory, TeamFactory, make_agent
from tickets.models import AgentProfile, Ticket
from tickets.routing.models import AgentSchedule, AgentSkill, RoutingRule, Skill, TeamAssignment
from tickets.services.events import Actor
from tickets.services.tickets import ticket_create

# A Monday noon, UTC: used wherever working hours matter, so results do not depend on the clock.
MONDAY_NOON = dt.datetime(2024, 1, 8, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def team():
    return TeamFactory(name="Support")


def configure(team, strategy: str, **extra) -> TeamAssignment:
    return TeamAssignment.objects.create(team=team, strategy=strategy, **extra)


def agent_in(team, username: str, *, role: str = "agent", capacity: int = 20, available: bool = True):
    user = make_agent(username, role=role, teams=[team])
    AgentProfile.objects.filter(user=user).update(capacity=capacity, is_available=available)
    user.agent_profile.refresh_from_db()
    return user


def give_skill(user, name: str, level: int = 3) -> AgentSkill:
    skill, _ = Skill.objects.get_or_create(name=name)
    return AgentSkill.objects.create(agent=user.agent_profile, skill=skill, level=level)


def set_hours(user, calendar) -> AgentSchedule:
    schedule, _ = AgentSchedule.objects.update_or_create(agent=user.agent_profile, defaults={"calendar": calendar})
    return schedule


def new_ticket(*, team=None, channel: str = "email", subject: str = "Help please", customer=None, **kwargs) -> Ticket:
    return ticket_create(
        requester=customer or CustomerFactory(),
        subject=subject,
        channel=channel,
        team=team,
        actor=Actor.system(),
        **kwargs,
    )


def rule(name: str, **fields) -> RoutingRule:
    organizations = fields.pop("organizations", [])
    created = RoutingRule(name=name, **fields)
    created.full_clean()
    created.save()
    created.organizations.set(organizations)
    return created
