"""The ticket list and page at scale (issue 12), second round: every sort over all tickets walks
an index (no sort of every match), a team filter narrows the visibility condition without
changing what is listed, a common tag is checked per listed ticket, the view counts agree with
the views, saved views are counted up to a limit ("10,000+"), and linked tickets the agent may
not see stay hidden."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import TicketFactory, make_agent
from tests.tickets.test_workspace import _list, listed, world  # noqa: F401 (fixture)
from tickets.models import SavedView, TicketLink
from tickets.selectors import (
    TICKET_QUEUES,
    ticket_link_list,
    ticket_queue,
    ticket_visibility_q,
    ticket_workspace_counts,
)

pytestmark = pytest.mark.django_db

SORTS = ["-updated", "updated", "-created", "created", "-priority", "priority", "-number", "number", "due", "-due"]


def _page_query(ctx) -> str:
    """The SQL of the list's page (50 rows and one more, to know whether there is a next page)."""
    return next(q["sql"] for q in ctx.captured_queries if "LIMIT 51" in q["sql"])


@pytest.fixture
def admin_client():
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-1")
    client = Client()
    client.force_login(admin)
    for priority in ["low", "normal", "high", "urgent"] * 2:
        TicketFactory(priority=priority, status="closed" if priority == "low" else "open")
    return client


@pytest.mark.parametrize("sort", SORTS)
def test_every_sort_over_all_tickets_reads_an_index_in_order_on_every_page(admin_client, monkeypatch, sort):
    """With sorting switched off the planner still has a way to give the order: an index. Without
    one (all tickets by priority before migration 0011) it must sort, and a Sort node shows."""
    if connection.vendor != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    monkeypatch.setattr("tickets.views.ticket_list.PAGE_SIZE", 50)
    url = reverse("agent:home")
    with CaptureQueriesContext(connection) as first:
        response = admin_client.get(url, {"queue": "all", "sort": sort})
    plans = [_page_query(first)]
    monkeypatch.setattr("tickets.views.ticket_list.PAGE_SIZE", 2)  # a page 2 to follow
    response = admin_client.get(url, {"queue": "all", "sort": sort})
    with CaptureQueriesContext(connection) as second:
        admin_client.get(f"{url}?{response.context['next_query']}")
    plans.append(next(q["sql"] for q in second.captured_queries if "LIMIT 3" in q["sql"]))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_incremental_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql in plans:
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Sort" not in plan, plan
            assert "Index" in plan, plan


def test_the_number_sort_needs_no_id_in_its_cursor_and_pages_through_everything(admin_client, monkeypatch):
    monkeypatch.setattr("tickets.views.ticket_list.PAGE_SIZE", 3)
    seen, params = [], {"queue": "all", "sort": "-number"}
    while True:
        response = admin_client.get(reverse("agent:home"), params)
        seen += listed(response)
        if not response.context["next_query"]:
            break
        params = dict(pair.split("=", 1) for pair in response.context["next_query"].split("&"))
    assert seen == sorted(seen, reverse=True) and len(seen) == 8


def test_a_team_filter_lists_what_the_agent_may_see_of_that_team(world):  # noqa: F811
    """alice is in Billing: filtering on Tech shows only the Tech tickets assigned to her, on
    Billing all of Billing's; the condition is narrowed (no "no team or my teams or mine")."""
    t = world["t"]
    mine_in_tech = TicketFactory(team=world["tech"], assignee=world["alice"])
    tech = listed(_list(world, team=world["tech"].pk))
    assert tech == [mine_in_tech.number]  # not tech_urgent, which is not hers
    billing = set(listed(_list(world, team=world["billing"].pk)))
    assert billing == {t["urgent_sms"].number, t["low_email"].number}
    with CaptureQueriesContext(connection) as ctx:
        _list(world, team=world["tech"].pk)
    assert '"team_id" IS NULL' not in _page_query(ctx)
    assert listed(_list(world, team=999999)) == []  # no such team: nothing (and an error)


def test_a_common_tag_is_checked_for_each_listed_ticket(world, monkeypatch):  # noqa: F811
    """PostgreSQL would otherwise turn the EXISTS into a join over every ticket of the tag."""
    monkeypatch.setattr("tickets.api.filters.COMMON_TAG_TICKETS", 1)
    with CaptureQueriesContext(connection) as ctx:
        found = listed(_list(world, tag="vip"))
    assert found == [world["t"]["urgent_sms"].number]
    assert "OFFSET 0)" in _page_query(ctx)


@pytest.mark.parametrize("who", ["alice", "manager"])
def test_each_view_count_is_the_number_of_tickets_in_that_view(world, who):  # noqa: F811
    user = world["alice"] if who == "alice" else make_agent("maya", role="manager", teams=[world["tech"]])
    now = timezone.now()
    TicketFactory(team=world["billing"], status="pending", assignee=world["alice"])
    TicketFactory(team=world["tech"], status="on_hold")
    TicketFactory(team=None, status="open", first_response_due_at=now + timedelta(hours=1))
    TicketFactory(team=world["billing"], status="solved", solved_at=now - timedelta(days=2))
    TicketFactory(team=world["billing"], status="closed", solved_at=now - timedelta(days=20))
    counts = ticket_workspace_counts(user=user)
    for queue in TICKET_QUEUES:
        if queue != "all":
            assert counts[queue] == ticket_queue(user=user, queue=queue).count(), queue


def test_saved_views_are_counted_up_to_a_limit_then_shown_with_a_plus(world, monkeypatch):  # noqa: F811
    monkeypatch.setattr("tickets.selectors.SAVED_VIEW_COUNT_LIMIT", 2)
    for _ in range(3):
        TicketFactory(team=world["billing"], priority="high")
    SavedView.objects.create(owner=world["alice"], name="Busy", query="queue=all&priority=high")
    SavedView.objects.create(owner=world["alice"], name="Quiet", query="queue=all&priority=low")
    cache.clear()
    page = _list(world).content.decode()
    busy = page[page.index("Busy") :]
    assert '<span class="count" title="Counted up to this many">2+</span>' in busy[:300]
    quiet = page[page.index("Quiet") :]
    assert '<span class="count">1</span>' in quiet[:200]


def test_linked_tickets_the_agent_cannot_see_stay_hidden(world, django_assert_max_num_queries):  # noqa: F811
    t = world["t"]
    TicketLink.objects.create(source=t["low_email"], target=t["high_web"], kind="related")
    TicketLink.objects.create(source=t["tech_urgent"], target=t["low_email"], kind="duplicate_of")
    ticket_visibility_q(world["alice"])  # her permissions and teams, loaded once per request
    with django_assert_max_num_queries(2):
        links = ticket_link_list(ticket=t["low_email"], user=world["alice"])
    assert [(item["other"].number, item["relation"]) for item in links] == [(t["high_web"].number, "related")]
    manager = make_agent("maya", role="manager", teams=[world["billing"], world["tech"]])
    seen = {(item["other"].number, item["relation"]) for item in ticket_link_list(ticket=t["low_email"], user=manager)}
    assert seen == {(t["high_web"].number, "related"), (t["tech_urgent"].number, "has_duplicate")}
    assert [item["relation"] for item in ticket_link_list(ticket=t["high_web"], user=world["alice"])] == ["related"]
    with django_assert_max_num_queries(1):  # no links: nothing to check visibility of
        assert ticket_link_list(ticket=t["urgent_sms"], user=world["alice"]) == []


def test_list_rows_show_labels_names_and_tags_without_a_query_per_row(world):  # noqa: F811
    t = world["t"]
    page = _list(world, sort="-priority").content.decode()
    row = page[page.index(f'data-ticket-row="{t["urgent_sms"].number}"') :]
    row = row[: row.index("</tr>")]
    assert "SMS" in row and "Urgent" in row and '<span class="tag">vip</span>' in row and "Ana Souza" in row
    mine = page[page.index(f'data-ticket-row="{t["low_email"].number}"') :]
    assert "alice" in mine[: mine.index("</tr>")]
