"""The sidebar counts come from the cache on the next load, and a ticket change refreshes them
for the agents who can see that ticket (and only them)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import TicketFactory, make_agent
from tickets.services.events import Actor
from tickets.services.tickets import ticket_assign, ticket_change_status

from .conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)  # invalidation runs on commit

HOME = reverse("agent:home")
# Counting the views: one aggregate over unsolved tickets, one count of the recently solved.
COUNT_QUERIES = 2


def _count_queries(client) -> tuple[list[str], str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(HOME, {"queue": "all"})
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper()], response.content.decode()


def test_a_second_load_runs_no_count_query_and_a_ticket_change_recounts(desk):
    ticket = TicketFactory(team=desk["billing"], status="new")
    TicketFactory(team=desk["billing"], status="pending")
    client = client_for(desk["alice"])

    counts, page = _count_queries(client)
    assert len(counts) == COUNT_QUERIES
    assert 'Pending <span class="count">1</span>' in page
    counts, page = _count_queries(client)
    assert counts == []
    assert 'Pending <span class="count">1</span>' in page

    ticket_change_status(ticket=ticket, status="pending", actor=Actor.system())
    counts, page = _count_queries(client)
    assert len(counts) == COUNT_QUERIES
    assert 'Pending <span class="count">2</span>' in page


def test_a_change_on_another_teams_ticket_leaves_the_cached_counts_alone(desk):
    TicketFactory(team=desk["billing"])
    elsewhere = TicketFactory(team=desk["tech"], status="new")
    client = client_for(desk["alice"])
    _count_queries(client)
    ticket_change_status(ticket=elsewhere, status="open", actor=Actor.system())
    assert _count_queries(client)[0] == []


def test_assigning_away_refreshes_the_old_and_the_new_assignees_counts(desk):
    bob = make_agent("bob", teams=[desk["tech"]])
    ticket = TicketFactory(team=desk["tech"], assignee=desk["alice"], status="open")
    alice, bob_client = client_for(desk["alice"]), client_for(bob)
    assert 'My open tickets <span class="count">1</span>' in _count_queries(alice)[1]
    _count_queries(bob_client)

    ticket_assign(ticket=ticket, assignee=bob, actor=Actor.system())
    counts, page = _count_queries(alice)
    assert len(counts) == COUNT_QUERIES and 'My open tickets <span class="count">0</span>' in page
    counts, page = _count_queries(bob_client)
    assert len(counts) == COUNT_QUERIES and 'My open tickets <span class="count">1</span>' in page


def test_counts_expire_after_the_ttl(desk, settings):
    settings.HELPDESK_QUEUE_COUNTS_TTL = 1
    TicketFactory(team=desk["billing"])
    client = client_for(desk["alice"])
    _count_queries(client)
    import time

    time.sleep(1.2)
    assert len(_count_queries(client)[0]) == COUNT_QUERIES
