"""KPIs on the hand-built history of conftest.py, with the answers worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metrics.selectors import KpiFilters, kpi_daily_trend, kpi_summary, kpi_volume_by_channel
from tests.factories import TicketFactory

from .conftest import NOW, at

pytestmark = pytest.mark.django_db

MARCH = {"date_from": dt.date(2024, 3, 1), "date_to": dt.date(2024, 3, 9)}


def test_summary_on_known_history(history, manager):
    s = kpi_summary(user=manager, filters=KpiFilters(**MARCH), now=NOW)
    assert (s.created, s.solved) == (4, 2)
    # First replies after 1, 3 and 2 hours.
    assert (s.frt.count, s.frt.median_hours, s.frt.average_hours) == (3, 2.0, 2.0)
    # Solved after 10 and 20 hours.
    assert (s.resolution.count, s.resolution.median_hours, s.resolution.average_hours) == (2, 15.0, 15.0)
    assert s.csat_answered == 3
    assert s.csat == pytest.approx(200 / 3)
    assert (s.ces_answered, s.ces_average_score, s.ces) == (2, 2.5, 25.0)
    assert [(b["label"], b["count"]) for b in s.backlog] == [
        ("< 1 day", 1),  # t6, 1 hour old
        ("1-3 days", 0),
        ("3-7 days", 2),  # t3 (6 days), t4 (5 days)
        ("> 7 days", 1),  # t7
    ]
    assert s.backlog_total == 4


def test_median_of_odd_and_even_counts(history, manager):
    TicketFactory(channel="email", created_at=at(6), first_responded_at=at(6, 20))  # 10 hours
    s = kpi_summary(user=manager, filters=KpiFilters(**MARCH), now=NOW)
    # 1, 2, 3, 10 -> median 2.5, average 4.
    assert (s.frt.median_hours, s.frt.average_hours) == (2.5, 4.0)


def test_filters_by_team_channel_agent_priority(history, manager):
    team_a = KpiFilters(**MARCH, team_id=history["team_a"].pk)
    s = kpi_summary(user=manager, filters=team_a, now=NOW)
    assert (s.created, s.frt.median_hours, s.resolution.average_hours, s.csat, s.ces) == (2, 2.0, 15.0, 100.0, 25.0)
    assert s.backlog_total == 0

    chat = kpi_summary(user=manager, filters=KpiFilters(**MARCH, channel="chat"), now=NOW)
    assert (chat.created, chat.solved, chat.frt.median_hours, chat.resolution.median_hours) == (1, 0, 2.0, None)
    assert (chat.csat, chat.ces) == (0.0, None)

    alice = kpi_summary(user=manager, filters=KpiFilters(**MARCH, agent_id=history["alice"].pk), now=NOW)
    assert (alice.created, alice.resolution.median_hours, alice.csat_answered) == (1, 10.0, 1)

    high = kpi_summary(user=manager, filters=KpiFilters(**MARCH, priority="high"), now=NOW)
    assert (high.created, high.csat, high.ces) == (1, 100.0, 0.0)


def test_date_range_moves_the_window(history, manager):
    feb = KpiFilters(date_from=dt.date(2024, 2, 1), date_to=dt.date(2024, 2, 29))
    s = kpi_summary(user=manager, filters=feb, now=NOW)
    assert (s.created, s.frt.median_hours, s.resolution.median_hours) == (1, 100.0, 120.0)
    assert (s.csat_answered, s.csat) == (1, 0.0)


def test_volume_by_channel_and_daily_trend(history, manager):
    filters = KpiFilters(**MARCH)
    assert kpi_volume_by_channel(user=manager, filters=filters) == [
        {"channel": "email", "count": 2},
        {"channel": "chat", "count": 1},
        {"channel": "sms", "count": 1},
    ]
    trend = kpi_daily_trend(user=manager, filters=filters)
    assert len(trend) == 9
    by_day = {p["day"].day: (p["created"], p["solved"]) for p in trend}
    assert by_day == {1: (0, 0), 2: (1, 1), 3: (1, 0), 4: (1, 1), 5: (1, 0), 6: (0, 0), 7: (0, 0), 8: (0, 0), 9: (0, 0)}


def test_empty_range_gives_no_numbers(db, manager):
    s = kpi_summary(user=manager, filters=KpiFilters(**MARCH), now=NOW)
    assert (s.created, s.frt.median_hours, s.frt.average_hours, s.csat, s.ces, s.backlog_total) == (
        0,
        None,
        None,
        None,
        None,
        0,
    )


def _count_queries(manager) -> int:
    filters = KpiFilters(**MARCH)
    manager.has_perm("tickets.view_all_tickets")  # fill the permission cache first
    cache: dict = {}  # one page view: the live days are computed once for all three
    with CaptureQueriesContext(connection) as ctx:
        kpi_summary(user=manager, filters=filters, now=NOW, cache=cache)
        kpi_volume_by_channel(user=manager, filters=filters, cache=cache)
        kpi_daily_trend(user=manager, filters=filters, cache=cache)
    return len(ctx.captured_queries)


def test_query_count_is_bounded_and_independent_of_data(history, manager):
    small = _count_queries(manager)
    assert small <= 16
    for i in range(30):
        day = 1 + i % 9
        TicketFactory(channel=["email", "chat", "web"][i % 3], created_at=at(day), first_responded_at=at(day, 15))
    assert _count_queries(manager) == small
