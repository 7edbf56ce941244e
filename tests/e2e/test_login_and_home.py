"""An agent signs in through the real login form, finds a new ticket in the queues and opens it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tickets.inbound import InboundMessage, InboundSender
from tickets.services.agents import agent_create
from tickets.services.events import Actor
from tickets.services.ingest import message_ingest

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery-7"
QUEUE_NAMES = ["My open tickets", "Unassigned", "All unsolved", "Pending", "On hold"]


@pytest.fixture
def agent():
    return agent_create(
        username="maria",
        email="maria@agents.example.com",
        role="agent",
        password=PASSWORD,
        first_name="Maria",
        last_name="Lopes",
        actor=Actor.system(),
    )


def sign_in(page, username: str, password: str) -> None:
    page.goto("/agent/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_agent_signs_in_sees_the_queues_and_opens_a_ticket(page, agent, screenshot):
    ticket = message_ingest(
        inbound=InboundMessage(
            channel="email",
            sender=InboundSender(kind="email", value="Ana Souza <ana.souza@example.com>", name="Ana Souza"),
            subject="Cannot reset my password",
            body_text="Hello, the reset link in your email says it has expired.\n\nThanks, Ana",
            external_id="<e2e-reset-1@example.com>",
        )
    ).ticket

    page.goto("/agent/login/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot("login")

    sign_in(page, "maria", PASSWORD)
    expect(page).to_have_url(re.compile(r"/agent/$"))
    expect(page.locator("header.topbar")).to_contain_text("Maria Lopes")
    queues = page.locator("aside.queues")
    for name in QUEUE_NAMES:
        expect(queues.get_by_role("link", name=re.compile(re.escape(name)))).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Cannot reset my password")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(str(ticket.number))
    expect(row).to_contain_text("Ana Souza")
    expect(row).to_contain_text("Email")
    screenshot("agent-home")

    row.get_by_role("link", name="Cannot reset my password").click()
    expect(page).to_have_url(re.compile(rf"/agent/tickets/{ticket.number}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"#{ticket.number} Cannot reset my password")
    message = page.locator("article.msg.inbound")
    expect(message).to_contain_text("the reset link in your email says it has expired")
    expect(message).to_contain_text("Ana Souza")
    screenshot("ticket-detail")


def test_a_wrong_password_is_refused_with_a_readable_error(page, agent, screenshot):
    sign_in(page, "maria", "not-the-password")
    expect(page).to_have_url(re.compile(r"/agent/login/$"))
    expect(page.get_by_role("alert")).to_have_text(
        "That username and password do not match. Check both and try again."
    )
    expect(page.get_by_label("Username")).to_have_value("maria")
    expect(page.locator("aside.queues")).to_have_count(0)
    screenshot("login-wrong-password")
