"""An agent opens /agent/notifications/ in Chromium and sees what a trigger told them, links
to the ticket, and marks everything read."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import expect

from tests.factories import CustomerFactory, make_agent
from tickets.automation.models import Notification, Trigger
from tickets.automation.services import rule_create
from tickets.services.events import Actor
from tickets.services.tickets import ticket_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def signed_in(page, live_server, user) -> None:  # noqa: F811
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_agent_sees_and_reads_notifications(page, live_server, screenshot):  # noqa: F811
    maria = make_agent("maria")
    rule_create(
        model=Trigger,
        actor=Actor.system(),
        name="Urgent to Maria",
        conditions={"all": [{"field": "priority", "operator": "is", "value": "urgent"}]},
        actions=[
            {
                "action": "notify",
                "to": "user",
                "user": maria.pk,
                "text": "Urgent ticket #{{ ticket.number }} from {{ customer.name }}: {{ ticket.subject }}",
            }
        ],
    )
    ticket = ticket_create(
        requester=CustomerFactory(name="Olga Petrova"),
        subject="Checkout is down",
        channel="email",
        priority="urgent",
        actor=Actor.system(),
    )
    assert Notification.objects.filter(user=maria).count() == 1  # the trigger ran after commit

    signed_in(page, live_server, maria)
    page.goto("/agent/notifications/")
    expect(page.get_by_role("heading", name="Notifications")).to_contain_text("1 unread")
    expect(page.get_by_text(f"Urgent ticket #{ticket.number} from Olga Petrova: Checkout is down")).to_be_visible()
    expect(page.get_by_text("From Trigger")).to_be_visible()
    link = page.get_by_role("link", name=f"#{ticket.number} Checkout is down")
    expect(link).to_have_attribute("href", f"/agent/tickets/{ticket.number}/")
    screenshot("automation-notifications")

    page.get_by_role("button", name="Mark all as read").click()
    expect(page.get_by_role("heading", name="Notifications")).not_to_contain_text("unread")
    assert Notification.objects.get(user=maria).read_at is not None


def test_notifications_are_private_to_each_agent(page, live_server):  # noqa: F811
    maria, other = make_agent("maria"), make_agent("otto")
    Notification.objects.create(user=other, text="Secret for Otto")
    signed_in(page, live_server, maria)
    page.goto("/agent/notifications/")
    expect(page.get_by_text("No notifications yet.")).to_be_visible()
    expect(page.get_by_text("Secret for Otto")).to_have_count(0)
