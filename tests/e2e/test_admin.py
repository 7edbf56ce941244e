"""An administrator reaches the Django admin and finds the help desk's data there."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tickets.services.agents import agent_create
from tickets.services.events import Actor

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "admin-pass-for-e2e-42"


def test_an_admin_opens_the_admin_site_and_sees_the_tickets_section(page, screenshot):
    agent_create(
        username="root-admin", email="admin@agents.example.com", role="admin", password=PASSWORD, actor=Actor.system()
    )
    page.goto("/agent/login/")
    page.get_by_label("Username").fill("root-admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/agent/$"))

    page.get_by_role("link", name="Admin").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#site-name")).to_have_text("Help desk administration")
    tickets_section = page.locator("#content-main .app-tickets")
    expect(tickets_section.get_by_role("caption")).to_contain_text("Tickets")
    expect(tickets_section.get_by_role("rowheader", name="Tickets", exact=True)).to_be_visible()
    screenshot("admin-index")
