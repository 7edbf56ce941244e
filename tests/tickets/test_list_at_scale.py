"""The ticket list's scale paths (issue 12): search that walks the list for common words and
fetches ids for rare ones gives the same answers either way, keyset pages bound the first
sort column, and the view counts read only unsolved and recently solved tickets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import TicketFactory
from tests.tickets.test_workspace import _list, inbound, listed, world  # noqa: F401 (fixture)
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

SEARCHES = ["refunds", "parcels arriving", '"parcel never"', "parcel -warehouse", "parcel", "nothing-like-this"]


@pytest.fixture
def texts(world):  # noqa: F811
    if connection.vendor != "postgresql":
        pytest.skip("the full-text paths are PostgreSQL's")
    t = world["t"]
    Ticket.objects.filter(pk=t["low_email"].pk).update(subject="Refund for a duplicate charge")
    inbound(t["high_web"], "Hello, my parcel never arrived at the warehouse.")
    inbound(t["urgent_sms"], "My parcel is late again.")
    inbound(t["tech_urgent"], "Another parcel story, in a team alice cannot see.")
    return world


@pytest.mark.parametrize("query", SEARCHES)
def test_common_word_walk_and_rare_word_ids_give_the_same_tickets(texts, monkeypatch, query):
    by_ids = listed(_list(texts, q=query))
    monkeypatch.setattr("tickets.selectors.TICKET_SEARCH_IDS_MAX", 0)  # as if every word were common
    assert listed(_list(texts, q=query)) == by_ids
    monkeypatch.setattr("tickets.selectors.TICKET_SEARCH_IDS_MAX", 10**9)
    assert listed(_list(texts, q=query)) == by_ids


def test_the_walk_respects_visibility_numbers_and_filters(texts, monkeypatch):
    monkeypatch.setattr("tickets.selectors.TICKET_SEARCH_IDS_MAX", 0)
    t = texts["t"]
    found = listed(_list(texts, q="parcel"))
    assert t["tech_urgent"].number not in found  # another team's ticket stays hidden
    assert set(found) == {t["high_web"].number, t["urgent_sms"].number}
    assert listed(_list(texts, q="parcel", priority="high")) == [t["high_web"].number]
    assert listed(_list(texts, q=f"#{t['urgent_sms'].number}")) == [t["urgent_sms"].number]


def test_a_common_word_is_checked_ticket_by_ticket_not_collected_first(texts, monkeypatch):
    """The walk's EXISTS must not be turned into a hashed set of every matching document
    (seconds at a million tickets): the OFFSET that prevents it is in the SQL."""
    monkeypatch.setattr("tickets.selectors.TICKET_SEARCH_IDS_MAX", 0)
    with CaptureQueriesContext(connection) as ctx:
        listed(_list(texts, q="parcel"))
    list_sql = [
        q["sql"] for q in ctx.captured_queries if "EXISTS(" in q["sql"] and "tickets_ticketsearchdocument" in q["sql"]
    ]
    assert list_sql and all("OFFSET 0)" in sql for sql in list_sql)


def test_next_pages_bound_the_first_sort_column_so_an_index_starts_at_the_cursor(world, monkeypatch):  # noqa: F811
    monkeypatch.setattr("tickets.views.ticket_list.PAGE_SIZE", 2)
    for _ in range(4):
        TicketFactory(team=world["billing"])
    first = _list(world)
    with CaptureQueriesContext(connection) as ctx:
        response = world["client"].get(f"{reverse('agent:home')}?{first.context['next_query']}")
    assert response.status_code == 200
    page_sql = next(q["sql"] for q in ctx.captured_queries if 'ORDER BY "tickets_ticket"."updated_at" DESC' in q["sql"])
    assert '"tickets_ticket"."updated_at" <=' in page_sql
    assert not set(listed(first)) & set(listed(response))


def test_counts_without_saved_views_still_count_recently_solved_and_not_older(world):  # noqa: F811
    from tickets.selectors import ticket_workspace_counts

    TicketFactory(team=world["billing"], status="solved", solved_at=timezone.now() - timedelta(days=1))
    TicketFactory(team=world["billing"], status="closed", solved_at=timezone.now() - timedelta(days=30))
    counts = ticket_workspace_counts(user=world["alice"])
    assert counts["recently_solved"] == 1
    assert counts["unsolved"] == 3  # alice's team's two, the team-less one; not the solved ones


@pytest.mark.parametrize("queue", ["all", "unsolved"])
def test_a_common_tag_is_checked_ticket_by_ticket_and_lists_the_same_tickets(world, monkeypatch, queue):  # noqa: F811
    """A tag on many tickets is filtered with EXISTS (the list walks its index and stops at the
    page); a rare one by joining its few tickets. Both list the same tickets, never other teams'."""
    rare = listed(_list(world, tag="vip", queue=queue))
    assert rare == [world["t"]["urgent_sms"].number]  # tech_urgent is in a team alice cannot see
    monkeypatch.setattr("tickets.api.filters.COMMON_TAG_TICKETS", 1)  # as if "vip" were on many tickets
    with CaptureQueriesContext(connection) as queries:
        common = listed(_list(world, tag="VIP", queue=queue))
    assert common == rare
    assert any("EXISTS" in q["sql"] and "tickets_ticket_tags" in q["sql"] for q in queries.captured_queries)
