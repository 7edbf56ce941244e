"""An integrator opens the interactive API documentation and finds the ticket endpoints."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tickets.services.agents import agent_create
from tickets.services.events import Actor

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_api_docs_page_renders_the_schema_with_its_endpoints(page, screenshot):
    agent_create(
        username="integrator", email="i@x.example", role="admin", password="pw-docs-e2e-31", actor=Actor.system()
    )
    page.goto("/agent/login/")
    page.get_by_label("Username").fill("integrator")
    page.get_by_label("Password").fill("pw-docs-e2e-31")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/agent/$"))

    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Help desk API", timeout=15000)
    expect(page.locator(".opblock-tag-section").filter(has_text="tickets").first).to_be_visible()
    expect(page.get_by_text("/api/v1/tickets/", exact=True).first).to_be_visible()
    screenshot("api-docs")
