"""An agent sees the chat offered to them on "My chat offers", accepts it in Chromium and
lands on the ticket, now theirs."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import CustomerFactory
from tickets.models import Ticket
from tickets.routing.models import ChatOffer
from tickets.routing.services import ticket_auto_assign
from tickets.services.agents import agent_create
from tickets.services.events import Actor

from .conftest import configure, new_ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-7"


def test_agent_accepts_a_chat_offer(page, screenshot, team):
    configure(team, "round_robin", chat_offer_minutes=5)
    agent = agent_create(
        username="maria",
        email="maria@agents.example.com",
        role="agent",
        password=PASSWORD,
        first_name="Maria",
        last_name="Lopes",
        teams=[team],
        actor=Actor.system(),
    )
    parcel = new_ticket(
        team=team, channel="chat", subject="Where is my parcel?", customer=CustomerFactory(name="Ana Souza")
    )
    new_ticket(team=team, channel="chat", subject="Change my delivery address", customer=CustomerFactory(name="Li"))
    for ticket in Ticket.objects.filter(channel="chat"):
        ticket_auto_assign(ticket_id=ticket.pk)  # no-op when routing already offered it
    assert ChatOffer.objects.filter(agent=agent, state="offered").count() == 2

    page.goto("/agent/login/?next=/agent/routing/offers/")
    page.get_by_label("Username").fill("maria")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/agent/routing/offers/$"))
    expect(page.get_by_role("heading", name="My chat offers")).to_be_visible()
    rows = page.get_by_role("row")
    expect(rows).to_have_count(3)  # header and two offers
    expect(rows.filter(has_text="Where is my parcel?")).to_contain_text("Ana Souza")
    screenshot("routing-chat-offers")

    rows.filter(has_text="Where is my parcel?").get_by_role("button", name="Accept").click()
    expect(page).to_have_url(re.compile(rf"/agent/tickets/{parcel.number}/$"))
    expect(page.get_by_text(f"Chat #{parcel.number} is yours.")).to_be_visible()
    assert Ticket.objects.get(pk=parcel.pk).assignee == agent

    page.goto("/agent/routing/offers/")
    expect(page.get_by_role("row")).to_have_count(2)
    page.get_by_role("button", name="Decline").click()
    expect(page).to_have_url(re.compile(r"/agent/routing/offers/$"))
    expect(page.get_by_text("No chats are waiting for you.")).to_be_visible()
    screenshot("routing-chat-offers-empty")
