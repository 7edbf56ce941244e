"""An agent works tickets in Chromium: filters the list, opens a ticket, applies a macro, sends
a reply with "send and set to pending" and sees both in the timeline; bulk-solves from the list."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import TeamFactory
from tickets.inbound import InboundMessage, InboundSender
from tickets.models import Macro, Ticket
from tickets.services.agents import agent_create
from tickets.services.events import Actor
from tickets.services.ingest import message_ingest
from tickets.services.tickets import ticket_change_status, ticket_update

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery-7"


@pytest.fixture
def agent():
    team = TeamFactory(name="Shipping")
    return agent_create(
        username="maria",
        email="maria@agents.example.com",
        role="agent",
        password=PASSWORD,
        first_name="Maria",
        last_name="Lopes",
        teams=[team],
        actor=Actor.system(),
    )


def email_ticket(subject: str, body: str, sender: str, name: str) -> Ticket:
    return message_ingest(
        inbound=InboundMessage(
            channel="email",
            sender=InboundSender(kind="email", value=f"{name} <{sender}>", name=name),
            subject=subject,
            body_text=body,
            external_id=f"<{sender}-{subject[:10]}@example.com>",
        )
    ).ticket


def sign_in(page) -> None:
    page.goto("/agent/login/")
    page.get_by_label("Username").fill("maria")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/agent/$"))


def test_filter_open_apply_macro_and_send_and_set_pending(page, agent, screenshot):
    parcel = email_ticket(
        "Parcel lost in transit",
        "Hello, my parcel was due last Monday and the tracking has not moved for a week.",
        "ana.souza@example.com",
        "Ana Souza",
    )
    email_ticket("Invoice address is wrong", "Please change the address on invoice 2291.", "li@example.com", "Li Wei")
    email_ticket("Cannot reset my password", "The reset link has expired.", "omar@example.com", "Omar Haddad")
    ticket_update(ticket=parcel, changes={"priority": "urgent"}, actor=Actor.agent(agent))
    Macro.objects.create(
        name="Ask for order number",
        body="Hi {{ customer.name }}, could you send me the order number for ticket #{{ ticket.number }}?\n\n"
        "{{ agent.name }}",
        actions=[{"field": "status", "value": "pending"}, {"field": "add_tags", "value": ["needs-order"]}],
    )

    sign_in(page)
    expect(page.get_by_role("row")).to_have_count(4)  # header and three tickets
    page.get_by_text("Filters", exact=True).click()
    filters = page.locator("form.filters")
    filters.get_by_label("Priority", exact=True).select_option("urgent")
    page.get_by_role("searchbox").fill("parcel")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"priority=urgent"))
    rows = page.locator("table.tickets tbody tr")
    expect(rows).to_have_count(1)
    expect(page.locator("form.filters .error")).to_have_count(0)
    expect(rows.first).to_contain_text("Parcel lost in transit")
    expect(filters.get_by_label("Priority", exact=True)).to_have_value("urgent")
    screenshot("workspace-list-filtered")

    rows.first.get_by_role("link", name="Parcel lost in transit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"#{parcel.number} Parcel lost in transit")
    composer = page.locator("form.composer")
    composer.get_by_label("Macro").select_option(label="Ask for order number")
    composer.get_by_role("button", name="Use macro").click()
    message = page.get_by_label("Message")
    expect(message).to_have_value(
        re.compile(rf"^Hi Ana Souza, could you send me the order number for ticket #{parcel.number}\?")
    )
    expect(message).to_have_value(re.compile(r"Maria Lopes$"))
    expect(page.locator(".macro-applied")).to_contain_text("add tags needs-order")
    expect(composer.get_by_label("Send via")).to_have_value("email")
    send = composer.get_by_role("button", name="Send and set to Pending")
    expect(send).to_be_visible()
    screenshot("workspace-ticket-composer")

    send.click()
    expect(page).to_have_url(re.compile(rf"/agent/tickets/{parcel.number}/$"))
    expect(page.get_by_role("status").first).to_contain_text("Reply queued for sending via Email.")
    reply = page.locator("article.msg.outbound").last
    expect(reply).to_contain_text("could you send me the order number")
    expect(reply).to_contain_text("Maria Lopes")
    expect(page.locator("p.event").filter(has_text="Maria Lopes changed status from Open to Pending")).to_have_count(1)
    expect(page.locator(".sidebar .status")).to_have_text("Pending")
    expect(page.get_by_label("Tags")).to_have_value("needs-order")
    screenshot("workspace-ticket-after-reply")
    assert Macro.objects.get().usage_count == 1


def test_bulk_solve_reports_the_ticket_that_cannot_be_solved(page, agent, screenshot):
    first = email_ticket("Wrong size delivered", "I ordered an M.", "a@example.com", "Ana Souza")
    second = email_ticket("Where is my refund", "It has been two weeks.", "b@example.com", "Li Wei")
    closed = email_ticket("Thanks!", "All good now.", "c@example.com", "Omar Haddad")
    for status in ("solved", "closed"):
        ticket_change_status(ticket=closed, status=status, actor=Actor.system())

    sign_in(page)
    page.goto("/agent/?queue=all")
    page.get_by_label("Select all tickets on this page").check()
    page.locator("#bulk-status").select_option("solved")
    page.get_by_role("button", name="Set status").click()
    expect(page.get_by_role("status")).to_contain_text(f"Updated 2 tickets: #{first.number}, #{second.number}.")
    expect(page.get_by_role("alert")).to_contain_text(f"#{closed.number} not changed")
    expect(page.get_by_role("alert")).to_contain_text("Closed tickets are final")
    screenshot("workspace-bulk-result")
    assert set(Ticket.objects.values_list("status", flat=True)) == {"solved", "closed"}


def test_a_light_agent_writes_an_internal_note_that_looks_like_one(page, agent, screenshot):
    ticket = email_ticket("Broken zipper", "The zipper broke on day one.", "z@example.com", "Ana Souza")
    agent_create(
        username="lena", email="lena@agents.example.com", role="light_agent", password=PASSWORD, actor=Actor.system()
    )
    page.goto("/agent/login/")
    page.get_by_label("Username").fill("lena")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/agent/tickets/{ticket.number}/")
    composer = page.locator("form.composer")
    expect(composer.get_by_label("Public reply")).to_have_count(0)
    expect(composer.get_by_label("Internal note")).to_be_checked()
    expect(composer.get_by_label("Send via")).to_be_hidden()
    expect(composer).to_have_css("background-color", "rgb(254, 249, 195)")  # the note colour
    page.get_by_label("Message").fill("Checked with the warehouse: a known batch problem.")
    composer.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status").first).to_contain_text("Internal note added.")
    expect(page.locator("article.msg.note")).to_contain_text("a known batch problem")
    screenshot("workspace-light-agent-note")
