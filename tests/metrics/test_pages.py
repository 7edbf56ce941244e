"""Dashboard sub-pages over HTTP: managers only, CSV of every table, drill-down lists, QA form,
goals on the tiles, bounded queries."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metrics.models import Goal, QaReview, Scorecard
from tests.factories import TicketFactory, make_agent

from .conftest import at, message

pytestmark = [pytest.mark.django_db]

WEEK = {"date_from": "2024-03-04", "date_to": "2024-03-08"}
PAGES = ["/dashboard/", "/dashboard/tickets/", "/dashboard/qa/", "/dashboard/touchpoints/", "/dashboard/forecast/"]


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize("url", PAGES)
def test_pages_are_for_managers(client, manager, url):
    assert client.get(url).status_code == 302
    client.force_login(make_agent("plain"))
    assert client.get(url).status_code == 403
    client.force_login(manager)
    assert client.get(url).status_code == 200


def test_every_dashboard_table_downloads_as_csv(client, office_history, manager):
    client.force_login(manager)
    html = client.get("/dashboard/", WEEK).content.decode()
    links = sorted({unescape(u) for u in re.findall(r'href="([^"]*export=[a-z]+[^"]*)"', html)})
    assert [u for u in links if "export=pdf" in u]  # the PDF export: test_dashboard_pdf.py
    links = [u for u in links if "export=pdf" not in u]
    tables = {re.search(r"export=([a-z]+)", u).group(1) for u in links}
    assert tables == {"summary", "channels", "trend", "weekday", "hours", "backlog", "agents", "definitions"}
    rows = {t: _csv(client.get(u)) for t, u in ((re.search(r"export=([a-z]+)", u).group(1), u) for u in links)}
    summary = dict(rows["summary"][1:])
    assert summary["created"] == "3" and summary["sla_attainment_percent"] == "75.00"
    assert summary["resolution_business_average_hours"] == "4.33"
    agents = {r[0]: r for r in rows["agents"][1:]}
    assert agents["cy"][1] == "2"  # solved
    assert len(rows["hours"]) == 1 + 7 * 24
    assert rows["trend"][1][0] == "2024-03-04"
    assert client.get("/dashboard/", {**WEEK, "export": "nonsense"}).status_code == 404


def test_tiles_link_to_the_tickets_behind_them(client, office_history, manager):
    client.force_login(manager)
    html = client.get("/dashboard/", WEEK).content.decode()
    url = unescape(re.search(r'data-kpi="reopen">.*?class="value" href="([^"]+)"', html, re.S).group(1))
    page = client.get(url).content.decode()
    assert "Reopened text" in page and "Chat solved at once" not in page
    url = unescape(re.search(r'data-kpi="fcr">.*?class="value" href="([^"]+)"', html, re.S).group(1))
    page = client.get(url).content.decode()
    assert "Chat solved at once" in page and "Office hours ticket" not in page
    # A heat-map cell: Monday 16:00.
    cell = unescape(re.search(r'<a href="([^"]+)"><rect data-weekday="1" data-hour="16"', html).group(1))
    page = client.get(cell).content.decode()
    assert "Office hours ticket" in page and "Chat solved at once" not in page
    rows = _csv(client.get(cell + "&export=tickets"))
    assert [r[1] for r in rows[1:]] == ["Office hours ticket"]
    assert client.get("/dashboard/tickets/", {"kpi": "bogus"}).status_code == 404


def test_goals_show_their_status(client, office_history, manager):
    Goal.objects.create(kpi="sla", target=90, at_risk_percent=10)  # 75 %: missed
    Goal.objects.create(kpi="fcr", target=30)  # 33 %: met
    client.force_login(manager)
    html = client.get("/dashboard/", WEEK).content.decode()
    assert re.search(r'data-kpi="sla">.*?data-goal="missed"', html, re.S)
    assert re.search(r'data-kpi="fcr">.*?data-goal="met"', html, re.S)
    assert "data-goal" not in re.search(r'data-kpi="csat">(.*?)</div>\s*<div class="tile', html, re.S).group(1)


def test_qa_review_through_the_form_reaches_the_agent_table(client, manager):
    agent = make_agent("fay")
    ticket = TicketFactory(subject="Wrong invoice", created_at=at(5), assignee=agent)
    message(ticket, at(5, 11), inbound=False, author=agent)
    card = Scorecard.objects.get(is_default=True)
    client.force_login(manager)
    assert client.get("/dashboard/qa/", {"ticket": ticket.number}).status_code == 302
    page = client.get(f"/dashboard/qa/{ticket.number}/")
    assert b"Correctness" in page.content and b"fay" in page.content
    scores = {f"c{c.pk}": "4" for c in card.criteria.all()}
    incomplete = client.post(f"/dashboard/qa/{ticket.number}/", {"agent": agent.pk, "c1": "4"})
    assert b"Score every criterion" in incomplete.content
    done = client.post(
        f"/dashboard/qa/{ticket.number}/", {"agent": agent.pk, "scorecard": card.pk, **scores, "comment": "Good."}
    )
    assert done.status_code == 302
    review = QaReview.objects.get()
    assert (review.agent, review.reviewer, review.score) == (agent, manager, 75.0)
    html = client.get("/dashboard/", {"date_from": "2024-03-01", "date_to": "2024-03-31"}).content.decode()
    row = re.search(r'data-agent="fay">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'class="n qa">–', row)  # reviewed today, not in March 2024
    html = client.get("/dashboard/").content.decode()  # the last 30 days
    row = re.search(r'data-agent="fay">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'class="n qa">75', row)
    reviews = _csv(client.get("/dashboard/qa/", {"export": "reviews"}))
    assert reviews[1][:2] == [str(ticket.number), "fay"]


def test_touchpoints_and_forecast_tables_download(client, manager):
    client.force_login(manager)
    for table in ("contacts", "channels", "spread", "since", "tags", "churn"):
        assert _csv(client.get("/dashboard/touchpoints/", {"export": table}))[0]
    days = _csv(client.get("/dashboard/forecast/", {"export": "days"}))
    assert len(days) == 1 + 14
    hours = _csv(client.get("/dashboard/forecast/", {"export": "hours", "aht": "5"}))
    assert len(hours) == 1 + 14 * 24


def _queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "url, params",
    [
        ("/dashboard/tickets/", {**WEEK, "kpi": "created"}),
        ("/dashboard/touchpoints/", WEEK),
        ("/dashboard/qa/", {}),
    ],
)
def test_sub_pages_do_not_grow_with_data(client, office_history, manager, url, params):
    client.force_login(manager)
    card = Scorecard.objects.get(is_default=True)
    QaReview.objects.create(ticket=office_history["T"], agent=office_history["bo"], scorecard=card, score=50)
    before = _queries(client, url, params)
    for i in range(12):
        t = TicketFactory(channel=["email", "chat"][i % 2], created_at=at(4 + i % 4), assignee=office_history["bo"])
        QaReview.objects.create(ticket=t, agent=office_history["bo"], reviewer=manager, scorecard=card, score=50)
    assert _queries(client, url, params) == before


def test_tag_filter_narrows_the_dashboard(client, office_history, manager):
    from tickets.models import Tag

    office_history["V"].tags.add(Tag.objects.create(name="urgent"))
    client.force_login(manager)
    html = client.get("/dashboard/", {**WEEK, "tag": "Urgent"}).content.decode()
    assert re.search(r'data-kpi="created">.*?class="value"[^>]*>\s*1\s*</a>', html, re.S)
    assert 'name="tag" value="Urgent"' in html or 'value="Urgent"' in html
    url = unescape(re.search(r'data-kpi="reopen">.*?class="value" href="([^"]+)"', html, re.S).group(1))
    assert "tag=urgent" in url
    assert "Reopened text" in client.get(url).content.decode()
