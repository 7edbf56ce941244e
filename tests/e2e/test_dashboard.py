"""Managers in Chromium: the KPI dashboard (tiles, goals, charts, heat map, agent table) and
its drill-down to tickets, the touchpoints, quality review and forecast pages. Every page is
screenshotted."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from metrics.models import Goal, Scorecard
from metrics.services import survey_answer, survey_create_for_ticket
from tests.factories import CustomerFactory, TicketFactory, make_agent
from tickets.models import Message, Tag

pytestmark = [pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-7"


def _sign_in(page, username="morgan"):
    page.goto("/agent/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def demo(db):
    """Three weeks of tickets over four channels, two agents, surveys, tags and goals."""
    make_agent("morgan", role="manager", password=PASSWORD)
    ana, ben = make_agent("ana"), make_agent("ben")
    billing, login = Tag.objects.create(name="billing"), Tag.objects.create(name="login")
    now = timezone.now()
    customers = [
        CustomerFactory(
            attributes={"signed_up_at": (now - dt.timedelta(days=40 + i)).date().isoformat(), "churned": i % 3 == 0}
        )
        for i in range(6)
    ]
    tickets = []
    for i, channel in enumerate(["email"] * 6 + ["chat"] * 4 + ["sms"] * 2 + ["whatsapp"] * 3):
        created = now - dt.timedelta(days=i % 12, hours=3 + i % 5)
        solved = i % 3 != 0
        agent = ana if i % 2 else ben
        ticket = TicketFactory(
            subject=f"{channel} question {i}",
            channel=channel,
            requester=customers[i % 6],
            assignee=agent,
            status="solved" if solved else "open",
            created_at=created,
            first_responded_at=created + dt.timedelta(hours=1 + i % 4),
            solved_at=created + dt.timedelta(hours=2 + i % 5) if solved else None,
        )
        Message.objects.create(
            ticket=ticket,
            direction="outbound",
            author_kind="agent",
            author_user=agent,
            channel=channel,
            body_text=f"Answer number {i}: try turning it off and on.",
            delivery_status="sent",
            created_at=created + dt.timedelta(hours=1 + i % 4),
        )
        ticket.tags.add(billing if i % 2 else login)
        tickets.append(ticket)
        if solved:
            survey = survey_create_for_ticket(ticket=ticket, kind="csat" if i % 2 else "ces")
            if survey:
                survey_answer(survey=survey, score=[5, 4, 2, 1][i % 4])
    Goal.objects.create(kpi="csat", target=80)
    Goal.objects.create(kpi="frt", target=3)
    return {"tickets": tickets, "ana": ana}


def test_manager_sees_tiles_and_charts_and_drills_down(page, screenshot, demo):
    _sign_in(page)
    page.goto("/dashboard/")

    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    for name in (
        "First response time",
        "Next response time",
        "Resolution time",
        "SLA attainment",
        "First-contact resolution",
        "Reopen rate",
        "CSAT",
        "CES",
        "NPS",
        "Tickets created",
        "Backlog now",
    ):
        expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    expect(page.locator('[data-kpi="created"] .value')).to_have_text("15")
    expect(page.locator('[data-kpi="csat"] .value')).to_have_text(re.compile(r"^\d+%$"))
    expect(page.locator('[data-kpi="ces"] .value')).to_have_text(re.compile(r"^\d+/100$"))
    expect(page.locator('[data-kpi="csat"] [data-goal]')).to_be_visible()
    expect(page.locator("#volume-chart rect")).to_have_count(4)
    expect(page.locator("#trend-chart polyline")).to_have_count(2)
    expect(page.locator("#heat-map rect")).to_have_count(7 * 24)
    expect(page.locator("#agents-table tbody tr")).to_have_count(2)
    screenshot("dashboard")

    page.locator("#volume-chart a").first.click()  # email, the busiest channel
    expect(page).to_have_url(re.compile(r"/agent/\?.*channel=email"))
    expect(page.get_by_text("email question 0")).to_be_visible()
    expect(page.get_by_text("chat question 6")).to_have_count(0)


def test_heat_map_cell_drills_down_to_a_ticket_list(page, screenshot, demo):
    first = demo["tickets"][0]
    local = timezone.localtime(first.created_at)
    _sign_in(page)
    page.goto("/dashboard/")
    page.locator(f'#heat-map rect[data-weekday="{local.isoweekday()}"][data-hour="{local.hour}"]').click()
    expect(page).to_have_url(re.compile(r"/dashboard/tickets/\?.*weekday="))
    expect(page.get_by_role("heading", name="Tickets created")).to_be_visible()
    expect(page.locator("#drilldown-table").get_by_text(first.subject)).to_be_visible()
    screenshot("dashboard-drilldown")
    page.locator("#drilldown-table a").first.click()
    expect(page).to_have_url(re.compile(r"/agent/tickets/\d+/"))


def test_touchpoints_page(page, screenshot, demo):
    _sign_in(page)
    page.goto("/dashboard/touchpoints/")
    expect(page.get_by_role("heading", name="Customer touchpoints")).to_be_visible()
    expect(page.locator("#tags-table")).to_contain_text("billing")
    expect(page.locator('#churn-table tr[data-group="churned"]')).to_be_visible()
    expect(page.locator("#since-table tbody tr")).to_have_count(5)
    screenshot("dashboard-touchpoints")


def test_quality_review_page(page, screenshot, demo):
    ticket = demo["tickets"][1]  # answered by ana
    _sign_in(page)
    page.goto("/dashboard/qa/")
    expect(page.get_by_role("heading", name="Quality reviews")).to_be_visible()
    page.get_by_label("Review ticket number").fill(str(ticket.number))
    page.get_by_role("button", name="Open").click()
    expect(page.get_by_role("heading", name=re.compile(f"Review #{ticket.number}"))).to_be_visible()
    for criterion in Scorecard.objects.get(is_default=True).criteria.all():
        page.get_by_label(criterion.name).select_option("4")
    page.get_by_label("Comment").fill("Clear and kind.")
    screenshot("dashboard-qa-review")
    page.get_by_role("button", name="Save review").click()
    expect(page.locator("#qa-table")).to_contain_text("ana")
    expect(page.locator("#qa-table")).to_contain_text("75")
    screenshot("dashboard-qa")
    page.goto("/dashboard/")
    expect(page.locator('#agents-table tr[data-agent="ana"] .qa')).to_contain_text("75")


def test_forecast_page(page, screenshot, demo):
    _sign_in(page)
    page.goto("/dashboard/forecast/")
    expect(page.get_by_role("heading", name="Forecast and staffing")).to_be_visible()
    expect(page.locator("#staffing-table tbody tr")).to_have_count(14)
    expect(page.locator("#forecast-chart polyline")).to_have_count(1)
    page.get_by_label("Average handle time (min)").fill("20")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"aht=20"))
    screenshot("dashboard-forecast")
