"""Assignment within a team: round-robin, least-loaded with capacity, skills; who is skipped
(unavailable, out of hours, light agents, full); nobody eligible, then the sweep."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from tests.factories import TeamFactory
from tickets.models import Event, Ticket
from tickets.models_sla import BusinessCalendar, BusinessInterval
from tickets.routing.models import TeamAssignment
from tickets.routing.services import routing_sweep, ticket_auto_assign, ticket_route
from tickets.services.events import Actor
from tickets.services.tickets import ticket_change_status, ticket_tags_set

from .conftest import MONDAY_NOON, agent_in, configure, give_skill, new_ticket, rule, set_hours

pytestmark = pytest.mark.django_db


def assignee_of(ticket: Ticket):
    return Ticket.objects.get(pk=ticket.pk).assignee


def assign(ticket: Ticket, now=MONDAY_NOON) -> str:
    return ticket_auto_assign(ticket_id=ticket.pk, now=now)


def test_round_robin_rotates_through_the_team_and_wraps(team):
    configure(team, "round_robin")
    ana, bo, cy = (agent_in(team, name) for name in ("ana", "bo", "cy"))
    tickets = [new_ticket(team=team) for _ in range(4)]
    assert [assign(t) for t in tickets] == ["assigned"] * 4
    assert [assignee_of(t) for t in tickets] == [ana, bo, cy, ana]
    assert TeamAssignment.objects.get(team=team).round_robin_last == ana
    event = Event.objects.get(ticket=tickets[1], verb="auto_assigned")
    assert event.data["strategy"] == "round_robin" and event.data["agent"]["id"] == bo.pk


def test_round_robin_skips_the_full_and_the_unavailable(team):
    configure(team, "round_robin")
    ana = agent_in(team, "ana", capacity=0)
    agent_in(team, "bo", available=False)
    cy = agent_in(team, "cy")
    tickets = [new_ticket(team=team) for _ in range(2)]
    for t in tickets:
        assign(t)
    assert [assignee_of(t) for t in tickets] == [cy, cy]
    assert ana.assigned_tickets.count() == 0


@pytest.mark.django_db(transaction=True)
def test_round_robin_two_assignments_at_once_go_to_two_agents(team):
    """Two workers assign tickets of the same team at the same moment: the team's row lock
    makes the second see the first's pointer, so the two agents get one ticket each."""
    tickets = [new_ticket(team=team) for _ in range(2)]  # routed at creation, while nobody is set up
    configure(team, "round_robin")
    ana, bo = agent_in(team, "ana"), agent_in(team, "bo")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(ticket: Ticket) -> None:
        try:
            barrier.wait(timeout=10)
            assign(ticket)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(t,)) for t in tickets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    close_old_connections()
    assert not errors
    assert {assignee_of(t) for t in tickets} == {ana, bo}


def test_least_loaded_picks_fewest_open_tickets_and_respects_capacity(team):
    configure(team, "least_loaded")
    ana, bo = agent_in(team, "ana", capacity=3), agent_in(team, "bo", capacity=1)
    busy = [new_ticket(team=team, assignee=ana) for _ in range(2)]
    solved = new_ticket(team=team, assignee=bo)
    ticket_change_status(ticket=solved, status="solved", actor=Actor.system())  # solved does not count
    first = new_ticket(team=team)
    assign(first)
    assert assignee_of(first) == bo  # 0 open against ana's 2
    second = new_ticket(team=team)
    assign(second)
    assert assignee_of(second) == ana  # bo is at capacity (1 of 1)
    third = new_ticket(team=team)
    assert assign(third) == "nobody"  # ana 3 of 3, bo 1 of 1
    assert assignee_of(third) is None
    assert len(busy) == 2


def test_least_loaded_tie_goes_to_who_waited_longest(team):
    configure(team, "least_loaded")
    ana, bo = agent_in(team, "ana"), agent_in(team, "bo")
    first, second = new_ticket(team=team), new_ticket(team=team)
    assign(first, now=MONDAY_NOON)
    assert assignee_of(first) == ana  # neither ever assigned: lowest id
    ticket_change_status(ticket=first, status="solved", actor=Actor.system())  # both at 0 open again
    assign(second, now=MONDAY_NOON + dt.timedelta(minutes=1))
    assert assignee_of(second) == bo  # never assigned waits longer than ana


def test_skills_picks_among_agents_with_every_required_skill(team):
    configure(team, "skills")
    ana, bo, cy = agent_in(team, "ana"), agent_in(team, "bo"), agent_in(team, "cy")
    give_skill(ana, "spanish", 5)
    give_skill(bo, "spanish", 2)
    give_skill(bo, "billing", 4)
    give_skill(cy, "billing", 5)
    # Required through tags named like skills.
    both = new_ticket(team=team)
    ticket_tags_set(ticket=both, names=["spanish", "billing", "unrelated"], actor=Actor.system())
    assign(both)
    assert assignee_of(both) == bo
    # Equal load among those who have it: the higher level wins.
    spanish = new_ticket(team=team)
    ticket_tags_set(ticket=spanish, names=["spanish"], actor=Actor.system())
    assign(spanish)
    assert assignee_of(spanish) == ana
    # A skill nobody in the team has (only an agent of another team): stays in the team queue.
    give_skill(agent_in(TeamFactory(name="Elsewhere"), "dee"), "french")
    french = new_ticket(team=team)
    ticket_tags_set(ticket=french, names=["french"], actor=Actor.system())
    assert assign(french) == "nobody"
    assert assignee_of(french) is None


def test_skills_required_by_a_routing_rule(team):
    configure(team, "skills")
    agent_in(team, "ana")
    bo = agent_in(team, "bo")
    give_skill(bo, "hardware")
    rule("Devices", keywords=["printer"], set_team=team, require_skills=["hardware"])
    ticket = new_ticket(subject="Printer jammed")
    outcome = ticket_route(ticket_id=ticket.pk, now=MONDAY_NOON)
    assert outcome.assignment == "assigned"
    assert assignee_of(ticket) == bo
    assert Event.objects.get(ticket=ticket, verb="auto_assigned").data["skills"] == ["hardware"]


def _calendar(name: str, start: int, end: int) -> BusinessCalendar:
    calendar = BusinessCalendar.objects.create(name=name, time_zone="UTC")
    BusinessInterval.objects.create(calendar=calendar, weekday=0, start_time=dt.time(start), end_time=dt.time(end))
    return calendar


def test_agents_outside_their_working_hours_are_skipped(team):
    configure(team, "least_loaded")
    night, day = agent_in(team, "night"), agent_in(team, "day")
    set_hours(night, _calendar("Nights", 20, 23))
    set_hours(day, _calendar("Days", 9, 17))
    ticket = new_ticket(team=team)
    assign(ticket, now=MONDAY_NOON)
    assert assignee_of(ticket) == day
    late = new_ticket(team=team)
    assign(late, now=MONDAY_NOON.replace(hour=21))
    assert assignee_of(late) == night


def test_light_agents_and_inactive_users_are_never_assigned(team):
    configure(team, "round_robin")
    agent_in(team, "lena", role="light_agent")
    gone = agent_in(team, "gone")
    gone.is_active = False
    gone.save()
    ticket = new_ticket(team=team)
    assert assign(ticket) == "nobody"


def test_strategy_none_or_switched_off_assigns_nothing(team):
    config = configure(team, "none")
    agent_in(team, "ana")
    ticket = new_ticket(team=team)
    assert assign(ticket) == "skipped"
    config.strategy, config.is_active = "round_robin", False
    config.save()
    assert assign(ticket) == "skipped"
    assert assignee_of(ticket) is None


def test_nobody_eligible_stays_in_queue_until_the_sweep_finds_an_agent(team):
    configure(team, "least_loaded")
    ana = agent_in(team, "ana", available=False)
    rule("Everything to support", set_team=team)
    ticket = new_ticket()
    outcome = ticket_route(ticket_id=ticket.pk, now=MONDAY_NOON)
    assert outcome.assignment == "nobody"
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert (fresh.team, fresh.assignee) == (team, None)

    assert routing_sweep(now=MONDAY_NOON).assigned == 0
    ana.agent_profile.is_available = True
    ana.agent_profile.save()
    result = routing_sweep(now=MONDAY_NOON + dt.timedelta(minutes=1))
    assert result.assigned == 1
    assert assignee_of(ticket) == ana
    assert routing_sweep(now=MONDAY_NOON + dt.timedelta(minutes=2)).assigned == 0  # idempotent


def test_sweep_waits_for_routing_of_brand_new_tickets(team):
    configure(team, "least_loaded")
    agent_in(team, "ana")
    ticket = new_ticket(team=team)  # not routed yet: the routing task may still run
    assert routing_sweep(now=ticket.created_at + dt.timedelta(seconds=30)).assigned == 0
    assert routing_sweep(now=ticket.created_at + dt.timedelta(minutes=3)).assigned == 1


def _routed_tickets(team, n: int) -> list[Ticket]:
    tickets = [new_ticket(team=team) for _ in range(n)]
    for t in tickets:
        ticket_route(ticket_id=t.pk, now=MONDAY_NOON)
    return tickets


def test_sweep_with_nobody_eligible_costs_the_same_for_any_queue_length(team):
    configure(team, "round_robin")
    agent_in(team, "ana", available=False)
    other = TeamFactory(name="Other")
    configure(other, "least_loaded")
    agent_in(other, "bo", capacity=0)
    _routed_tickets(team, 3)
    _routed_tickets(other, 3)
    with CaptureQueriesContext(connection) as short_queue:
        assert routing_sweep(now=MONDAY_NOON).assigned == 0
    _routed_tickets(team, 40)
    _routed_tickets(other, 40)
    with CaptureQueriesContext(connection) as long_queue:
        result = routing_sweep(now=MONDAY_NOON)
    assert (result.assigned, result.teams) == (0, 2)
    assert len(long_queue) == len(short_queue) <= 20


def test_sweep_assigns_in_batches_with_a_bounded_cost_per_ticket(team, django_assert_max_num_queries):
    tickets = _routed_tickets(team, 12)  # routed before the team assigns: all waiting
    configure(team, "least_loaded")
    agents = [agent_in(team, f"agent{i}") for i in range(3)]
    with django_assert_max_num_queries(12 * 25):
        result = routing_sweep(now=MONDAY_NOON, batch_size=5)
    assert result.assigned == 12
    counts = sorted(Ticket.objects.filter(pk__in=[t.pk for t in tickets]).filter(assignee=a).count() for a in agents)
    assert counts == [4, 4, 4]  # least loaded spreads them evenly
