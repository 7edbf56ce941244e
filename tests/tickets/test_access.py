"""Who sees which tickets, in lists, pages and the timeline; and lists without N+1."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.urls import reverse

from tests.factories import CustomerFactory, TeamFactory, TicketFactory, make_agent, make_customer_user
from tickets.models import Message
from tickets.selectors import ticket_get, ticket_list, ticket_queue_counts, ticket_timeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    billing, tech = TeamFactory(name="Billing"), TeamFactory(name="Tech")
    alice = make_agent("alice", teams=[billing])
    manager = make_agent("mona", role="manager")
    tickets = {
        "billing": TicketFactory(team=billing),
        "tech": TicketFactory(team=tech),
        "no_team": TicketFactory(team=None),
        "tech_but_mine": TicketFactory(team=tech, assignee=alice),
    }
    return {"alice": alice, "manager": manager, "tickets": tickets}


def test_an_agent_sees_their_teams_unteamed_and_assigned_tickets_only(world):
    visible = set(ticket_list(user=world["alice"]).values_list("pk", flat=True))
    t = world["tickets"]
    assert visible == {t["billing"].pk, t["no_team"].pk, t["tech_but_mine"].pk}
    with pytest.raises(Http404):
        ticket_get(user=world["alice"], number=t["tech"].number)


def test_managers_see_every_team(world):
    assert ticket_list(user=world["manager"]).count() == 4


def test_a_customer_sees_only_their_own_tickets_and_no_internal_notes():
    me, other = CustomerFactory(), CustomerFactory()
    mine, theirs = TicketFactory(requester=me), TicketFactory(requester=other)
    Message.objects.create(
        ticket=mine, direction="inbound", author_kind="customer", channel="web", body_text="question"
    )
    Message.objects.create(
        ticket=mine, direction="outbound", author_kind="agent", channel="internal", body_text="secret", is_internal=True
    )
    user = make_customer_user(me)

    assert list(ticket_list(user=user)) == [mine]
    with pytest.raises(Http404):
        ticket_get(user=user, number=theirs.number)
    assert [m.body_text for m in ticket_timeline(ticket=mine, user=user)] == ["question"]


def test_anonymous_and_plain_users_see_nothing():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import AnonymousUser

    TicketFactory()
    assert ticket_list(user=AnonymousUser()).count() == 0
    assert ticket_list(user=get_user_model().objects.create_user("nobody")).count() == 0


def test_queue_counts_follow_visibility(world):
    counts = ticket_queue_counts(user=world["alice"])
    assert counts["unsolved"] == 3 and counts["mine"] == 1 and counts["unassigned"] == 2


def test_the_ticket_list_page_costs_the_same_queries_for_5_or_50_tickets(client):
    team = TeamFactory()
    agent = make_agent("q", teams=[team])
    for _ in range(5):
        TicketFactory(team=team)
    client.force_login(agent)
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cache.clear()  # the sidebar counts are cached per agent: measure both loads uncached
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("agent:home")).status_code == 200
    for _ in range(45):
        TicketFactory(team=team)
    cache.clear()
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("agent:home"))
    assert response.status_code == 200
    assert response.content.count(b'class="status status-new"') == 50
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_the_agent_workspace_refuses_customers_and_hides_other_teams_tickets(client, world):
    customer_user = make_customer_user(CustomerFactory())
    client.force_login(customer_user)
    assert client.get(reverse("agent:home")).status_code == 403

    client.force_login(world["alice"])
    assert client.get(reverse("agent:ticket", args=[world["tickets"]["tech"].number])).status_code == 404
    page = client.get(reverse("agent:ticket", args=[world["tickets"]["billing"].number]))
    assert page.status_code == 200 and world["tickets"]["billing"].subject in page.content.decode()


def test_the_workspace_asks_anonymous_visitors_to_sign_in(client):
    response = client.get(reverse("agent:home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("agent:login"))


def test_the_ticket_page_tells_the_story_in_sentences(client):
    from tickets.inbound import InboundMessage, InboundSender
    from tickets.services.events import Actor
    from tickets.services.ingest import message_ingest
    from tickets.services.tickets import ticket_change_status, ticket_update

    result = message_ingest(
        inbound=InboundMessage(
            channel="sms",
            sender=InboundSender("phone", "+15550142", name="Ana Souza"),
            body_text="My parcel is lost",
            external_id="SMstory",
        )
    )
    agent = make_agent("maria")
    agent.first_name, agent.last_name = "Maria", "Lopes"
    agent.save()
    ticket_update(ticket=result.ticket, changes={"priority": "urgent"}, actor=Actor.agent(agent))
    ticket_change_status(ticket=result.ticket, status="pending", actor=Actor.agent(agent))

    client.force_login(agent)
    page = client.get(reverse("agent:ticket", args=[result.ticket.number])).content.decode()
    assert "Ana Souza opened the ticket" in page
    assert "Maria Lopes changed priority from Normal to Urgent" in page
    assert "Maria Lopes changed status from New to Pending" in page
    assert "My parcel is lost" in page
