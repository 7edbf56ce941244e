"""Chats are offered, not assigned: accept, decline, expiry to the next agent (on a real Celery
worker), and the offer pages' access rules."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from tests.factories import CustomerFactory, make_customer_user
from tickets.models import Event, Ticket
from tickets.routing.models import ChatOffer, OfferState
from tickets.routing.services import (
    OfferClosed,
    chat_offer_accept,
    chat_offer_decline,
    routing_sweep,
    ticket_auto_assign,
    ticket_route,
)
from tickets.routing.tasks import routing_sweep_task, ticket_route_task
from tickets.services.events import Actor
from tickets.services.tickets import ticket_assign

from .conftest import agent_in, configure, new_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat_team(team):
    configure(team, "round_robin", chat_offer_minutes=3)
    return team


def offer_for(ticket: Ticket) -> ChatOffer:
    return ChatOffer.objects.get(ticket=ticket, state=OfferState.OFFERED)


def test_a_chat_is_offered_to_one_agent_and_assigned_when_accepted(chat_team):
    ana, _bo = agent_in(chat_team, "ana"), agent_in(chat_team, "bo")
    ticket = new_ticket(team=chat_team, channel="chat")
    now = timezone.now()
    assert ticket_auto_assign(ticket_id=ticket.pk, now=now) == "offered"
    offer = offer_for(ticket)
    assert (offer.agent, offer.expires_at) == (ana, now + dt.timedelta(minutes=3))
    assert Ticket.objects.get(pk=ticket.pk).assignee is None
    # Asking again while the offer is open changes nothing.
    assert ticket_auto_assign(ticket_id=ticket.pk) == "skipped"

    chat_offer_accept(offer_id=offer.pk, user=ana)
    assert Ticket.objects.get(pk=ticket.pk).assignee == ana
    offer.refresh_from_db()
    assert offer.state == OfferState.ACCEPTED and offer.answered_at is not None
    assert Event.objects.filter(ticket=ticket, verb="chat_offer_accepted", actor_user=ana).exists()
    with pytest.raises(OfferClosed, match="no longer open"):
        chat_offer_accept(offer_id=offer.pk, user=ana)


def test_declining_offers_the_chat_to_the_next_agent_and_never_back(chat_team):
    ana, bo = agent_in(chat_team, "ana"), agent_in(chat_team, "bo")
    ticket = new_ticket(team=chat_team, channel="chat")
    ticket_auto_assign(ticket_id=ticket.pk)
    chat_offer_decline(offer_id=offer_for(ticket).pk, user=ana)
    assert offer_for(ticket).agent == bo
    chat_offer_decline(offer_id=offer_for(ticket).pk, user=bo)
    # Both declined: nobody left, the chat waits in the team queue.
    assert not ChatOffer.objects.filter(ticket=ticket, state=OfferState.OFFERED).exists()
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


def test_only_the_agent_offered_may_answer(chat_team):
    agent_in(chat_team, "ana")
    bo = agent_in(chat_team, "bo")
    ticket = new_ticket(team=chat_team, channel="chat")
    ticket_auto_assign(ticket_id=ticket.pk)
    with pytest.raises(PermissionDenied):
        chat_offer_accept(offer_id=offer_for(ticket).pk, user=bo)


def test_an_accept_after_the_deadline_is_refused_and_the_chat_moves_on(chat_team):
    ana, bo = agent_in(chat_team, "ana"), agent_in(chat_team, "bo")
    ticket = new_ticket(team=chat_team, channel="chat")
    start = timezone.now()
    ticket_auto_assign(ticket_id=ticket.pk, now=start)
    offer = offer_for(ticket)
    with pytest.raises(OfferClosed, match="expired"):
        chat_offer_accept(offer_id=offer.pk, user=ana, now=start + dt.timedelta(minutes=4))
    offer.refresh_from_db()
    assert offer.state == OfferState.EXPIRED
    assert offer_for(ticket).agent == bo
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


def test_expired_offers_move_to_the_next_agent_in_the_sweep_and_back_when_nobody_else(chat_team):
    ana, bo = agent_in(chat_team, "ana"), agent_in(chat_team, "bo")
    ticket = new_ticket(team=chat_team, channel="chat")
    start = timezone.now()
    ticket_auto_assign(ticket_id=ticket.pk, now=start)
    assert routing_sweep(now=start + dt.timedelta(minutes=2)).offers_expired == 0  # not yet due
    result = routing_sweep(now=start + dt.timedelta(minutes=3))
    assert (result.offers_expired, result.offered) == (1, 1)
    assert offer_for(ticket).agent == bo
    # Running the sweep again at the same moment does nothing more.
    assert routing_sweep(now=start + dt.timedelta(minutes=3)).offers_expired == 0
    # Bo lets it expire too: with nobody new, it goes round again (they may have stepped away).
    routing_sweep(now=start + dt.timedelta(minutes=7))
    assert offer_for(ticket).agent == ana
    assert ChatOffer.objects.filter(ticket=ticket).count() == 3


def test_an_offer_is_withdrawn_when_someone_takes_the_chat_meanwhile(chat_team):
    ana, bo = agent_in(chat_team, "ana"), agent_in(chat_team, "bo")
    ticket = new_ticket(team=chat_team, channel="chat")
    ticket_auto_assign(ticket_id=ticket.pk)
    offer = offer_for(ticket)
    ticket_assign(ticket=ticket, assignee=bo, actor=Actor.agent(bo))
    with pytest.raises(OfferClosed, match="already taken care of"):
        chat_offer_accept(offer_id=offer.pk, user=ana)
    offer.refresh_from_db()
    assert offer.state == OfferState.WITHDRAWN


def test_sweep_withdraws_offers_of_chats_assigned_meanwhile(chat_team):
    agent_in(chat_team, "ana")
    bo = agent_in(chat_team, "bo")
    ticket = new_ticket(team=chat_team, channel="chat")
    ticket_auto_assign(ticket_id=ticket.pk)
    ticket_assign(ticket=ticket, assignee=bo, actor=Actor.agent(bo))
    assert routing_sweep().offers_withdrawn == 1
    assert not ChatOffer.objects.filter(state=OfferState.OFFERED).exists()


def test_open_offers_count_towards_an_agents_capacity(chat_team):
    agent_in(chat_team, "ana", capacity=1)
    first, second = (new_ticket(team=chat_team, channel="chat") for _ in range(2))
    assert ticket_auto_assign(ticket_id=first.pk) == "offered"
    assert ticket_auto_assign(ticket_id=second.pk) == "nobody"


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_expiry_sweep_on_a_real_worker_offers_the_chat_to_the_next_agent(team, celery_worker):
    ticket = new_ticket(team=team, channel="chat", customer=CustomerFactory())  # routed: no setup yet
    configure(team, "least_loaded", chat_offer_minutes=1)
    ana, bo = agent_in(team, "ana"), agent_in(team, "bo")
    ticket_auto_assign(ticket_id=ticket.pk)
    first = offer_for(ticket)
    assert first.agent == ana
    ChatOffer.objects.filter(pk=first.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    result = routing_sweep_task.delay().get(timeout=30)
    assert result["offers_expired"] == 1
    first.refresh_from_db()
    assert first.state == OfferState.EXPIRED
    assert offer_for(ticket).agent == bo
    assert Event.objects.filter(ticket=ticket, verb="chat_offer_expired").count() == 1
    # A second delivery of the sweep finds nothing to do.
    assert routing_sweep_task.delay().get(timeout=30)["offers_expired"] == 0
    assert ChatOffer.objects.filter(ticket=ticket).count() == 2


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_route_task_run_twice_on_a_worker_routes_once(team, celery_worker):
    from .conftest import rule

    rule("Chats", channels=["chat"], set_team=team, add_tags=["live"])
    configure(team, "round_robin")
    ana = agent_in(team, "ana")
    # Created through the product: the `created` event queues the routing task after commit.
    ticket = new_ticket(channel="chat")
    deadline = timezone.now() + dt.timedelta(seconds=30)
    while not ChatOffer.objects.filter(ticket=ticket).exists() and timezone.now() < deadline:
        time.sleep(0.1)
    again = ticket_route_task.delay(ticket.pk).get(timeout=30)
    assert again["routed"] is False
    assert Event.objects.filter(ticket=ticket, verb="routed").count() == 1
    assert ChatOffer.objects.filter(ticket=ticket).count() == 1
    assert offer_for(ticket).agent == ana
    assert list(Ticket.objects.get(pk=ticket.pk).tags.values_list("name", flat=True)) == ["live"]


# --- The pages ---------------------------------------------------------------------------------


@pytest.fixture
def offered(chat_team):
    ana = agent_in(chat_team, "ana")
    ticket = new_ticket(team=chat_team, channel="chat", subject="Where is my parcel?")
    ticket_auto_assign(ticket_id=ticket.pk)
    return ana, ticket, offer_for(ticket)


def test_accept_view_assigns_and_redirects_to_the_ticket(offered):
    ana, ticket, offer = offered
    client = Client(enforce_csrf_checks=True)
    client.force_login(ana)
    page = client.get("/agent/routing/offers/")
    assert page.status_code == 200
    assert "Where is my parcel?" in page.content.decode()
    # Without the CSRF token the POST is refused.
    assert client.post(f"/agent/routing/offers/{offer.pk}/accept/").status_code == 403
    token = client.cookies["csrftoken"].value
    response = client.post(f"/agent/routing/offers/{offer.pk}/accept/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response["Location"] == f"/agent/tickets/{ticket.number}/"
    assert Ticket.objects.get(pk=ticket.pk).assignee == ana


def test_decline_view_and_closed_offers_explain_themselves(offered, client):
    ana, _ticket, offer = offered
    client.force_login(ana)
    response = client.post(f"/agent/routing/offers/{offer.pk}/decline/", {"next": "/agent/routing/offers/"})
    assert response["Location"] == "/agent/routing/offers/"
    again = client.post(f"/agent/routing/offers/{offer.pk}/accept/", follow=True)
    assert "no longer open" in again.content.decode()


def test_offer_pages_refuse_other_agents_customers_and_get(offered, client, chat_team):
    _ana, _ticket, offer = offered
    assert client.get("/agent/routing/offers/").status_code == 302  # to the login page
    client.force_login(agent_in(chat_team, "bo"))
    assert client.post(f"/agent/routing/offers/{offer.pk}/accept/").status_code == 403
    assert client.get(f"/agent/routing/offers/{offer.pk}/accept/").status_code == 405
    assert "Where is my parcel?" not in client.get("/agent/routing/offers/").content.decode()
    client.force_login(make_customer_user(CustomerFactory(), "portal-person"))
    assert client.get("/agent/routing/offers/").status_code == 403
    offer.refresh_from_db()
    assert offer.state == OfferState.OFFERED


def test_offer_list_query_count_does_not_grow_with_offers(chat_team, client, django_assert_max_num_queries):
    from channels_inbox.chat.models import ChatAgentStatus

    ana = agent_in(chat_team, "ana", capacity=50)
    ChatAgentStatus.objects.create(user=ana, max_chats=50)  # room for 15 chat offers
    for i in range(15):
        ticket_route(ticket_id=new_ticket(team=chat_team, channel="chat", subject=f"Chat {i}").pk)
    assert ChatOffer.objects.filter(agent=ana, state=OfferState.OFFERED).count() == 15
    client.force_login(ana)
    with django_assert_max_num_queries(8):
        response = client.get("/agent/routing/offers/")
    assert response.content.decode().count("Chat ") >= 15


def test_an_agent_at_their_live_chat_limit_is_not_offered_another_chat(team):
    """The live-chat app's per-agent limit counts open chats and waiting offers: ana, with one
    offer waiting and a limit of one chat, is skipped although she is the least loaded."""
    from channels_inbox.chat.models import ChatAgentStatus

    configure(team, "least_loaded", chat_offer_minutes=3)
    ana, bo = agent_in(team, "ana"), agent_in(team, "bo")
    for n in range(2):
        ticket_assign(ticket=new_ticket(team=team, subject=f"bo's {n}"), assignee=bo, actor=Actor.system())
    first = new_ticket(team=team, channel="chat")
    assert ticket_auto_assign(ticket_id=first.pk) == "offered"
    assert offer_for(first).agent == ana  # load 0 against bo's 2

    second = new_ticket(team=team, channel="chat")
    ChatAgentStatus.objects.create(user=ana, max_chats=2)
    assert ticket_auto_assign(ticket_id=second.pk) == "offered"
    assert offer_for(second).agent == ana  # one offer waiting, room for two chats

    third = new_ticket(team=team, channel="chat")
    assert ticket_auto_assign(ticket_id=third.pk) == "offered"
    assert offer_for(third).agent == bo  # ana is at her limit: two offers waiting
