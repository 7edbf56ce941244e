"""A manager opens /dashboard/ in Chromium, sees the KPI tiles and the charts, and follows a bar
of the channel chart to the tickets behind it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from metrics.services import survey_answer, survey_create_for_ticket
from tests.factories import TicketFactory, make_agent

pytestmark = [pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-7"


def test_manager_sees_tiles_and_charts_and_drills_down(page, screenshot):
    make_agent("morgan", role="manager", password=PASSWORD)
    now = timezone.now()
    for i, channel in enumerate(["email"] * 6 + ["chat"] * 4 + ["sms"] * 2 + ["whatsapp"] * 3):
        created = now - dt.timedelta(days=i % 12, hours=3)
        solved = i % 3 != 0
        ticket = TicketFactory(
            subject=f"{channel} question {i}",
            channel=channel,
            status="solved" if solved else "open",
            created_at=created,
            first_responded_at=created + dt.timedelta(hours=1 + i % 4),
            solved_at=created + dt.timedelta(hours=2 + i % 5) if solved else None,
        )
        if solved:
            survey = survey_create_for_ticket(ticket=ticket, kind="csat" if i % 2 else "ces")
            survey_answer(survey=survey, score=[5, 4, 2, 1][i % 4])

    page.goto("/agent/login/")
    page.get_by_label("Username").fill("morgan")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/dashboard/")

    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    for name in ("First response time", "Resolution time", "CSAT", "CES", "Tickets created", "Backlog now"):
        expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    expect(page.locator('[data-kpi="created"] .value')).to_have_text("15")
    expect(page.locator('[data-kpi="csat"] .value')).to_have_text(re.compile(r"^\d+%$"))
    expect(page.locator('[data-kpi="ces"] .value')).to_have_text(re.compile(r"^\d+/100$"))
    expect(page.locator("#volume-chart rect")).to_have_count(4)
    expect(page.locator("#trend-chart polyline")).to_have_count(2)
    screenshot("dashboard")

    page.locator("#volume-chart a").first.click()  # email, the busiest channel
    expect(page).to_have_url(re.compile(r"/agent/\?.*channel=email"))
    expect(page.get_by_text("email question 0")).to_be_visible()
    expect(page.get_by_text("chat question 6")).to_have_count(0)
