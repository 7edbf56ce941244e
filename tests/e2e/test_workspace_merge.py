"""An agent merges two customers in Chromium: finds the duplicate from the kept customer's
profile, checks both on the confirmation page, merges, and undoes the merge."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import CustomerFactory, IdentityFactory, TeamFactory, TicketFactory
from tickets.models import Customer, Ticket
from tickets.services.agents import agent_create
from tickets.services.events import Actor

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery-7"


def test_merge_two_customers_and_undo(page, screenshot):
    team = TeamFactory(name="Shipping")
    agent_create(
        username="maria",
        email="maria@agents.example.com",
        role="agent",
        password=PASSWORD,
        first_name="Maria",
        last_name="Lopes",
        teams=[team],
        actor=Actor.system(),
    )
    kept = CustomerFactory(name="Ana Souza")
    IdentityFactory(customer=kept, kind="email", value="ana@example.com")
    TicketFactory(requester=kept, team=team, subject="Invoice copy")
    duplicate = CustomerFactory(name="Ana WhatsApp")
    IdentityFactory(customer=duplicate, kind="whatsapp", value="+5511912345678")
    moved = TicketFactory(requester=duplicate, team=team, subject="Order via WhatsApp")

    page.goto("/agent/login/")
    page.get_by_label("Username").fill("maria")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/agent/$"))

    page.goto(f"/agent/customers/{kept.pk}/")
    page.get_by_label("Customer id, name, email or phone").fill("5511912345678")
    page.get_by_role("button", name="Find customer to merge").click()
    expect(page.get_by_role("heading", name="Merge into Ana Souza")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Merged and removed: Ana WhatsApp"))).to_be_visible()
    expect(page.get_by_text("+5511912345678")).to_be_visible()
    expect(page.get_by_text("ana@example.com")).to_be_visible()
    screenshot("workspace-customer-merge-confirm")

    page.get_by_role("button", name="Merge Ana WhatsApp into Ana Souza").click()
    expect(page).to_have_url(re.compile(rf"/agent/customers/{kept.pk}/$"))
    expect(page.get_by_text("Ana WhatsApp was merged into this customer.")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Order via WhatsApp")).first).to_be_visible()
    screenshot("workspace-customer-merged")
    assert not Customer.objects.filter(pk=duplicate.pk).exists()

    page.get_by_role("button", name="Undo merge of Ana WhatsApp").click()
    expect(page).to_have_url(re.compile(rf"/agent/customers/{duplicate.pk}/$"))
    expect(page.get_by_text("Merge undone: Ana WhatsApp is a separate customer again.")).to_be_visible()
    expect(page.get_by_role("heading", name="Ana WhatsApp", exact=True)).to_be_visible()
    screenshot("workspace-customer-merge-undone")
    assert Ticket.objects.get(pk=moved.pk).requester_id == duplicate.pk
