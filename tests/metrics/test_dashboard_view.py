"""/dashboard/: managers only, tiles with the known numbers, filters, drill-down, bounded queries."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import TicketFactory, make_agent

from .conftest import at

pytestmark = [pytest.mark.django_db]

MARCH = {"date_from": "2024-03-01", "date_to": "2024-03-09"}


def tile(html: str, kpi: str) -> str:
    match = re.search(rf'data-kpi="{kpi}">.*?class="value"[^>]*>(.*?)</a>', html, re.S)
    assert match, f"no {kpi} tile"
    return re.sub(r"<[^>]+>|\s+", "", match.group(1))


def test_anonymous_goes_to_login_and_agent_is_refused(client, db):
    assert client.get("/dashboard/").status_code == 302
    client.force_login(make_agent("plain"))
    assert client.get("/dashboard/").status_code == 403


def test_manager_sees_the_known_numbers(client, history, manager):
    client.force_login(manager)
    html = client.get("/dashboard/", MARCH).content.decode()
    assert tile(html, "frt") == "2.0hmedian"
    assert tile(html, "resolution") == "15.0hmedian"
    assert tile(html, "csat") == "67%"
    assert tile(html, "ces") == "25/100"
    assert tile(html, "created") == "4"
    assert 'id="volume-chart"' in html and 'id="trend-chart"' in html
    assert "lower means less effort" in html.lower()  # the definitions are on the page


def test_superuser_may_see_it(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests-1"))
    assert client.get("/dashboard/").status_code == 200


def test_filters_change_the_numbers(client, history, manager):
    client.force_login(manager)
    html = client.get("/dashboard/", {**MARCH, "team": history["team_a"].pk}).content.decode()
    assert (tile(html, "created"), tile(html, "csat")) == ("2", "100%")
    html = client.get("/dashboard/", {**MARCH, "channel": "sms"}).content.decode()
    assert (tile(html, "created"), tile(html, "frt")) == ("1", "–")
    bad = client.get("/dashboard/", {"date_from": "2024-03-09", "date_to": "2024-03-01"})
    assert b"start date is after" in bad.content


def test_a_bar_drills_down_to_its_tickets(client, history, manager):
    client.force_login(manager)
    html = client.get("/dashboard/", MARCH).content.decode()
    links = [unescape(u) for u in re.findall(r'<a href="(/agent/\?[^"]*channel=email[^"]*)"', html)]
    assert links, "no drill-down link for the email bar"
    tickets = client.get(links[0]).content.decode()
    assert "Parcel lost" in tickets and "Refund please" in tickets
    assert "Old one" not in tickets and "Chat question" not in tickets and "Fresh" not in tickets


def test_backlog_drills_down_to_unsolved_tickets(client, history, manager):
    client.force_login(manager)
    html = client.get("/dashboard/", MARCH).content.decode()
    url = unescape(re.search(r'data-kpi="backlog">.*?href="([^"]+)"', html, re.S).group(1))
    tickets = client.get(url).content.decode()
    for subject in ("Chat question", "Text message", "Fresh", "Ancient"):
        assert subject in tickets
    assert "Parcel lost" not in tickets


def _page_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/dashboard/", MARCH).status_code == 200
    return len(ctx.captured_queries)


def test_dashboard_queries_do_not_grow_with_tickets(client, history, manager):
    client.force_login(manager)
    before = _page_queries(client)
    assert before <= 30
    for i in range(40):
        TicketFactory(channel=["email", "voice"][i % 2], created_at=at(1 + i % 9), solved_at=at(1 + i % 9, 18))
    assert _page_queries(client) == before
