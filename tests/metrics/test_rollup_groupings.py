"""Every combination of the dashboard's filters (a tag with team, agent, channel, priority)
is answered from the rollups, with the same figures as the live computation from the
tickets; the refresh keeps the tag groupings up to date; medians from the histograms stay
within their stated error; the dashboard page is a bounded number of queries."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import random

import pytest
from django.core.cache import cache as django_cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metrics.facts import HIST_ERROR, duration_bucket, histogram_median
from metrics.models import DailyRollup
from metrics.rollups import DIM_BITS, STORED_GSETS, TAG_BIT, gset_for, rollup_refresh
from metrics.selectors import KpiFilters, kpi_agents, kpi_sums
from tickets.models import Tag, Ticket

from .conftest import at
from .test_rollups import AFTER, MARCH, _everything, _tag, assert_same_figures

pytestmark = pytest.mark.django_db


def _combined(history, office_history) -> list[KpiFilters]:
    """A tag with every subset of the other filters (values that match something)."""
    values = {
        "team_id": history["team_a"].pk,
        "agent_id": history["alice"].pk,
        "channel": "email",
        "priority": "high",
    }
    out = []
    for tag in ("refund", "vip"):
        for n in range(1, 5):
            for names in itertools.combinations(values, n):
                out.append(KpiFilters(**{**MARCH.__dict__, "tag": tag, **{k: values[k] for k in names}}))
    # Values that leave some tickets out: team B, chat, another agent.
    for extra in ({"team_id": history["team_b"].pk}, {"channel": "chat"}, {"agent_id": office_history["cy"].pk}):
        out.append(KpiFilters(**{**MARCH.__dict__, "tag": "refund", **extra}))
    out.append(KpiFilters(**{**MARCH.__dict__, "tag": "refund", "team_id": history["team_b"].pk, "channel": "chat"}))
    return out


def test_every_grouping_the_filters_need_is_stored():
    dims = (*DIM_BITS.values(), TAG_BIT)
    for n in range(len(dims) + 1):
        for bits in itertools.combinations(dims, n):
            wanted = sum(bits)
            for by in (0, DIM_BITS["channel"], DIM_BITS["agent_id"]):
                gset = gset_for(wanted | by)
                assert gset in STORED_GSETS and gset & (wanted | by) == wanted | by
    assert gset_for(TAG_BIT | DIM_BITS["team_id"] | DIM_BITS["priority"]) == 25  # exact, small
    assert gset_for(TAG_BIT | DIM_BITS["agent_id"] | DIM_BITS["channel"]) == 22  # exact
    assert gset_for(TAG_BIT | DIM_BITS["agent_id"] | DIM_BITS["channel"] | DIM_BITS["team_id"]) == 31  # finest


def test_tag_with_other_filters_reads_rollups_equal_to_live(history, office_history, manager):
    _tag(history)
    grid = _combined(history, office_history)
    live = [_everything(manager, f) for f in grid]  # never refreshed: every figure from the tickets
    rollup_refresh(now=AFTER)
    for filters, expected in zip(grid, live, strict=True):
        with CaptureQueriesContext(connection) as ctx:
            sums = kpi_sums(user=manager, filters=filters, cache={})
            kpi_agents(user=manager, filters=filters, cache={})
        sql = " ".join(q["sql"] for q in ctx.captured_queries)
        assert "metrics_dailyrollup" in sql and "tickets_message" not in sql, filters  # no live path
        assert sums.get((), {}).get("created", 0) == expected["summary"]["created"], filters
        assert_same_figures(_everything(manager, filters), expected, filters)
        assert_same_figures(_everything(manager, filters, cache={}), expected, filters)
    # Known answers: "refund" is on t1 (email, team A, alice, high), t2 (email, team A), t3 (chat, team B).
    by_key = {
        (f.tag, f.team_id, f.agent_id, f.channel, f.priority): e["summary"] for f, e in zip(grid, live, strict=True)
    }
    a, b, alice = history["team_a"].pk, history["team_b"].pk, history["alice"].pk
    assert by_key[("refund", a, None, "", "")]["created"] == 2
    assert by_key[("refund", a, None, "email", "")]["created"] == 2
    assert by_key[("refund", None, alice, "email", "")]["created"] == 1
    assert by_key[("refund", None, None, "", "high")]["created"] == 1
    assert by_key[("refund", b, None, "chat", "")]["created"] == 1
    assert by_key[("refund", b, None, "chat", "")]["csat_answered"] == 1
    assert by_key[("vip", a, alice, "email", "high")]["created"] == 1


def test_refresh_keeps_tag_groupings_up_to_date(history, office_history, manager):
    _tag(history)
    rollup_refresh(now=AFTER)
    later = AFTER + dt.timedelta(hours=1)
    # t2 (refund, team A) moves to team B and becomes urgent; t4 gets the refund tag.
    Ticket.objects.filter(pk=history["t2"].pk).update(team=history["team_b"], priority="urgent", updated_at=later)
    history["t4"].tags.add(Tag.objects.get(name="refund"))
    Ticket.objects.filter(pk=history["t4"].pk).update(updated_at=later)
    grid = _combined(history, office_history)
    rollup_refresh(now=at(13))
    stored = [_everything(manager, f) for f in grid]
    DailyRollup.objects.all().delete()
    from metrics.models import RollupState

    RollupState.objects.update(watermark=None)  # no rollups: every figure live again
    live = [_everything(manager, f) for f in grid]
    for f, a, b in zip(grid, stored, live, strict=True):
        assert_same_figures(a, b, f)
    team_b_refund = KpiFilters(**{**MARCH.__dict__, "tag": "refund", "team_id": history["team_b"].pk})
    assert live[grid.index(team_b_refund)]["summary"]["created"] == 3  # t2, t3, t4


def test_histogram_median_is_within_the_stated_error():
    rng = random.Random(5)
    for n in (1, 2, 3, 10, 101, 1000):
        values = [rng.expovariate(1 / rng.choice((30, 600, 7200, 86400))) for _ in range(n)]
        hist: dict[int, int] = {}
        for v in values:
            hist[duration_bucket(v)] = hist.get(duration_bucket(v), 0) + 1
        ordered = sorted(values)
        exact = (ordered[(n - 1) // 2] + ordered[n // 2]) / 2
        estimate = histogram_median(hist)
        assert abs(estimate - exact) <= max(exact * HIST_ERROR * 1.0001, 30.0), (n, exact, estimate)
    assert histogram_median({}) is None
    assert duration_bucket(0) == 0 and duration_bucket(59.9) == 0 and duration_bucket(60) == 1


def test_dashboard_page_with_combined_filters_is_a_bounded_number_of_queries(
    client, history, office_history, manager, django_assert_max_num_queries
):
    _tag(history)
    rollup_refresh(now=AFTER)
    client.force_login(manager)
    params = {"date_from": "2024-03-01", "date_to": "2024-03-09"}
    for extra in ({}, {"tag": "refund", "team": history["team_a"].pk}, {"tag": "refund", "priority": "high"}):
        django_cache.clear()
        client.get("/dashboard/", {**params, **extra})  # the session and permissions are loaded once
        django_cache.clear()
        with django_assert_max_num_queries(20):
            response = client.get("/dashboard/", {**params, **extra})
        assert response.status_code == 200
    combined = dataclasses.replace(MARCH, tag="refund", team_id=history["team_a"].pk)
    assert _everything(manager, combined)["summary"]["created"] == 2


def test_backlog_from_rollup_days_equals_the_live_count(history, manager):
    """Days wholly inside one age bucket come from the rollups' unsolved counts; the days
    around each age limit and tickets created since the refresh are counted live: the same
    figures as counting every unsolved ticket."""
    from metrics.models import RollupState
    from metrics.selectors import kpi_backlog
    from tests.factories import TicketFactory

    created = [(19, 12, "open"), (18, 9, "new"), (17, 5, "pending"), (16, 20, "open"), (14, 8, "on_hold")]
    created += [(13, 23, "open"), (12, 1, "solved"), (9, 15, "open")]
    for day, hour, status in created:
        TicketFactory(channel="chat", status=status, created_at=at(day, hour), team=history["team_b"])
    refresh, now = at(20, 10), at(20, 11)
    rollup_refresh(now=refresh)
    TicketFactory(channel="chat", status="new", created_at=at(20, 10) + dt.timedelta(minutes=30))  # after the refresh
    filters = [
        MARCH,
        dataclasses.replace(MARCH, team_id=history["team_b"].pk),
        dataclasses.replace(MARCH, channel="sms"),
    ]
    stored = [[b["count"] for b in kpi_backlog(user=manager, filters=f, now=now, cache={})] for f in filters]
    RollupState.objects.update(watermark=None)
    live = [[b["count"] for b in kpi_backlog(user=manager, filters=f, now=now, cache={})] for f in filters]
    assert stored == live
    # Now 20 Mar 11:00. < 1 day: 19 Mar 12:00, 20 Mar 10:30; 1-3 days: 18 Mar; 3-7 days: 17 Mar
    # 05:00, 16, 14, 13 Mar; older: 9 Mar, t3, t4, t6, t7.
    assert live[0] == [2, 1, 4, 5]
    assert live[1] == [1, 1, 4, 3]  # team B: not the ticket created after the refresh, nor t6, t7


def test_dashboard_data_cache_is_dropped_by_a_refresh(client, history, manager, settings):
    from metrics.page_cache import dashboard_cache_forget
    from tests.factories import TicketFactory

    from .test_dashboard_view import tile

    settings.METRICS_DASHBOARD_CACHE_SECONDS = 300
    dashboard_cache_forget()
    rollup_refresh(now=AFTER)
    client.force_login(manager)
    params = {"date_from": "2024-03-01", "date_to": "2024-03-09"}
    assert tile(client.get("/dashboard/", params).content.decode(), "created") == "4"
    TicketFactory(channel="email", created_at=at(6))
    with CaptureQueriesContext(connection) as ctx:
        html = client.get("/dashboard/", params).content.decode()
    assert tile(html, "created") == "4"  # served from the cache: no rollup read
    assert not any("metrics_dailyrollup" in q["sql"] for q in ctx.captured_queries)
    rollup_refresh(now=AFTER + dt.timedelta(minutes=5))  # a new generation
    assert tile(client.get("/dashboard/", params).content.decode(), "created") == "5"
    settings.METRICS_DASHBOARD_CACHE_SECONDS = 0
    TicketFactory(channel="email", created_at=at(7))
    rollup_refresh(now=AFTER + dt.timedelta(minutes=10))
    assert tile(client.get("/dashboard/", params).content.decode(), "created") == "6"
