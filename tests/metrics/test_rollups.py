"""Daily rollups: what the beat task stores equals the live computation from the tickets
(every filter: dates, team, agent, channel, priority, tag), it only recomputes the days touched
since its last run, running it twice changes nothing, and the rebuild command redoes it all."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from io import StringIO

import pytest
from django.core.management import call_command

from metrics.facts import HIST_ERROR, SUM_FIELDS
from metrics.models import DailyRollup, RollupState
from metrics.rollups import rollup_days_touched, rollup_refresh, rollup_stored_until, rollup_sums
from metrics.selectors import (
    KpiFilters,
    kpi_agents,
    kpi_daily_trend,
    kpi_summary,
    kpi_volume_by_channel,
    kpi_volume_by_weekday_hour,
)
from tests.factories import TicketFactory
from tickets.models import Tag, Ticket

from .conftest import NOW, at

pytestmark = pytest.mark.django_db

MARCH = KpiFilters(date_from=dt.date(2024, 3, 1), date_to=dt.date(2024, 3, 9))
AFTER = at(12)  # the task runs on 12 March: 1-11 March are closed days


def _everything(manager, filters=MARCH, cache=None):
    summary = dataclasses.asdict(kpi_summary(user=manager, filters=filters, now=NOW, cache=cache))
    return {
        "summary": summary,
        "channels": kpi_volume_by_channel(user=manager, filters=filters, cache=cache),
        "trend": kpi_daily_trend(user=manager, filters=filters, cache=cache),
        "hours": kpi_volume_by_weekday_hour(user=manager, filters=filters, cache=cache),
        "agents": kpi_agents(user=manager, filters=filters, cache=cache),
    }


def assert_same_figures(stored: dict, live: dict, label=None) -> None:
    """Every figure equal, except the medians: read from the rollups' histograms (stored), they
    are within the stated 4.5% of the exact ones (live)."""
    stored, live = dict(stored), dict(live)
    stored_summary, live_summary = dict(stored.pop("summary")), dict(live.pop("summary"))
    for name in ("frt", "resolution"):
        a, b = dict(stored_summary.pop(name)), dict(live_summary.pop(name))
        a_median, b_median = a.pop("median_hours"), b.pop("median_hours")
        assert a == b, (label, name)
        assert (a_median is None) == (b_median is None), (label, name)
        if b_median is not None:
            assert a_median == pytest.approx(b_median, rel=HIST_ERROR, abs=30 / 3600), (label, name)
    stored_summary.pop("medians_sampled")
    live_summary.pop("medians_sampled")
    assert stored_summary == live_summary, label
    assert stored == live, label


def _stored_sums(day_from, day_to):
    return rollup_sums(day_from=day_from, day_to=day_to, dims={}).get((), {})


def _live_sums(day_from, day_to):
    return rollup_sums(day_from=day_from, day_to=day_to, dims={}, use_rollups=False).get((), {})


def _tag(history):
    """Tags on the history: "refund" on t1, t2 and t3 (email, email, chat), "vip" on t1."""
    refund, vip = Tag.objects.create(name="refund"), Tag.objects.create(name="vip")
    for t in ("t1", "t2", "t3"):
        history[t].tags.add(refund)
    history["t1"].tags.add(vip)


def _filter_grid(history, office_history):
    """Every single filter and some pairs, over two date ranges."""
    values = {
        "team_id": [history["team_a"].pk, history["team_b"].pk],
        "agent_id": [history["alice"].pk, office_history["cy"].pk],
        "channel": ["email", "chat", "sms"],
        "priority": ["high", "normal"],
        "tag": ["refund", "vip", "nosuchtag"],
    }
    ranges = [MARCH, KpiFilters(date_from=dt.date(2024, 2, 15), date_to=dt.date(2024, 3, 12))]
    out = []
    for base in ranges:
        out.append(base)
        for name, options in values.items():
            out += [KpiFilters(**{**base.__dict__, name: v}) for v in options]
        for (a, va), (b, vb) in itertools.combinations([(n, v[0]) for n, v in values.items()], 2):
            out.append(KpiFilters(**{**base.__dict__, a: va, b: vb}))
    return out


def test_rollups_equal_the_live_computation(history, office_history, manager):
    _tag(history)
    grid = _filter_grid(history, office_history)
    live = [_everything(manager, f) for f in grid]  # never run: everything from the tickets
    assert rollup_stored_until() is None
    days = rollup_refresh(now=AFTER)
    assert dt.date(2024, 3, 4) in days and dt.date(2024, 3, 12) in days
    assert rollup_stored_until() == dt.date(2024, 3, 12)
    assert DailyRollup.objects.filter(day__range=(MARCH.date_from, MARCH.date_to), gset=0).exists()
    assert DailyRollup.objects.filter(tag_id__gt=0).exists()
    for filters, expected in zip(grid, live, strict=True):
        assert_same_figures(_everything(manager, filters), expected, filters)
        assert_same_figures(_everything(manager, filters, cache={}), expected, filters)
    stored = _everything(manager)
    assert stored["summary"]["created"] == 7 and stored["summary"]["sla_met"] == 3
    # Every sum, also per team and per channel.
    live_sums, stored_sums = _live_sums(MARCH.date_from, MARCH.date_to), _stored_sums(MARCH.date_from, MARCH.date_to)
    assert {f: stored_sums.get(f, 0) for f in SUM_FIELDS} == pytest.approx({f: live_sums.get(f, 0) for f in SUM_FIELDS})
    team_a = KpiFilters(**{**MARCH.__dict__, "team_id": history["team_a"].pk, "channel": "email"})
    assert dataclasses.asdict(kpi_summary(user=manager, filters=team_a, now=NOW))["created"] == 2
    refund = KpiFilters(**{**MARCH.__dict__, "tag": "refund"})
    tagged = _everything(manager, refund)
    assert tagged["summary"]["created"] == 3 and tagged["summary"]["csat_answered"] == 3
    assert {r["channel"]: r["count"] for r in tagged["channels"]} == {"email": 2, "chat": 1}


def test_a_dashboard_reads_one_row_per_day_and_value(history, office_history, manager, django_assert_max_num_queries):
    """A filtered page reads the rollups with a fixed handful of queries, none on tickets' sums."""
    _tag(history)
    rollup_refresh(now=AFTER)
    for filters in (MARCH, KpiFilters(**{**MARCH.__dict__, "tag": "refund"})):
        cache: dict = {}
        with django_assert_max_num_queries(16):
            _everything(manager, filters, cache=cache)
    rows = DailyRollup.objects.filter(gset=0, tag_id=0, day__range=(MARCH.date_from, MARCH.date_to))
    assert rows.count() == 5  # one total row per day with activity (2-6 March)
    assert sum(rows.values_list("created", flat=True)) == 7


def test_refresh_is_idempotent(history, manager):
    rollup_refresh(now=AFTER)
    columns = ("day", "gset", "team_id", "channel", "tag_id", "created", "solved", "frt_sum", "h10")
    first = sorted(DailyRollup.objects.values_list(*columns))
    RollupState.objects.update(watermark=None)  # as if the task were delivered twice from scratch
    rollup_refresh(now=AFTER)
    assert sorted(DailyRollup.objects.values_list(*columns)) == first
    out = StringIO()
    call_command("metrics_rollups_rebuild", "--every", "1", stdout=out)
    assert "days" in out.getvalue() and "Rebuilt" in out.getvalue()
    assert sorted(DailyRollup.objects.values_list(*columns)) == first


def test_incremental_refresh_recomputes_only_touched_days(history, manager):
    rollup_refresh(now=AFTER)
    later = AFTER + dt.timedelta(hours=1)
    # Nothing changed since: only today again (stored as of each run).
    Ticket.objects.update(updated_at=AFTER - dt.timedelta(days=1))
    assert rollup_days_touched(since=AFTER, until=later) == {dt.date(2024, 3, 12)}
    # t3 (created 4 March) is solved on 11 March: its creation day and its solve day change.
    t3 = history["t3"]
    Ticket.objects.filter(pk=t3.pk).update(status="solved", solved_at=at(11), updated_at=later)
    touched = rollup_days_touched(since=AFTER, until=at(13))
    assert touched == {dt.date(2024, 3, 4), dt.date(2024, 3, 11), dt.date(2024, 3, 12), dt.date(2024, 3, 13)}
    before = _everything(manager)
    rollup_refresh(now=at(13))
    after = _everything(manager)
    assert after["summary"]["resolved"] == before["summary"]["resolved"] + 1
    assert DailyRollup.objects.filter(day=dt.date(2024, 3, 11), gset=0).values_list("solved", flat=True).get() == 1
    # Still equal to the live computation.
    assert _stored_sums(MARCH.date_from, dt.date(2024, 3, 11)) == _live_sums(MARCH.date_from, dt.date(2024, 3, 11))


def test_today_is_stored_as_of_the_last_run_and_later_days_are_live(history, manager):
    rollup_refresh(now=AFTER)
    # A ticket created on 12 March after the run shows with the next run (12 March is stored).
    TicketFactory(channel="chat", created_at=at(12, 11))
    filters = KpiFilters(date_from=dt.date(2024, 3, 10), date_to=dt.date(2024, 3, 13))
    assert kpi_summary(user=manager, filters=filters, now=at(12, 12)).created == 1  # t6 (10 March)
    rollup_refresh(now=at(12, 12))
    assert kpi_summary(user=manager, filters=filters, now=at(12, 12)).created == 2
    # A day after the last run (the task has not run since) is computed live.
    TicketFactory(channel="chat", created_at=at(13, 9))
    assert kpi_summary(user=manager, filters=filters, now=at(13, 10)).created == 3


@pytest.mark.django_db(transaction=True)
def test_beat_task_runs_on_a_real_worker(celery_worker, settings):
    from django.utils import timezone

    from metrics.tasks import rollups_refresh_task

    created = timezone.now() - dt.timedelta(days=2)
    TicketFactory(channel="email", created_at=created, first_responded_at=created + dt.timedelta(hours=2))
    result = rollups_refresh_task.delay()
    assert result.get(timeout=60) >= 1
    day = timezone.localtime(created).date()
    assert DailyRollup.objects.filter(day=day, gset=0, created=1, responded=1, frt_sum=7200).exists()


def test_medians_come_from_the_rollup_histograms_once_built(history, manager, settings):
    """Computed from the tickets (no rollups) the medians are exact; once rollups are built they
    are read from the histograms stored with them (the live days' histograms included), at most
    4.5% off; METRICS_MEDIAN_EXACT_ROWS keeps small ranges exact. The sums never change."""
    exact = kpi_summary(user=manager, filters=MARCH, now=NOW)
    assert (exact.frt.median_hours, exact.resolution.median_hours, exact.medians_sampled) == (2.0, 15.0, False)
    rollup_refresh(now=dt.datetime(2024, 3, 5, 23, tzinfo=dt.UTC))  # 1-5 March stored, 6-9 March live
    partly = kpi_summary(user=manager, filters=MARCH, now=NOW)
    assert partly.medians_sampled
    assert partly.frt.median_hours == pytest.approx(2.0, rel=HIST_ERROR) and partly.frt.median_hours != 2.0
    assert partly.resolution.median_hours == pytest.approx(15.0, rel=HIST_ERROR)
    rollup_refresh(now=AFTER)
    stored = kpi_summary(user=manager, filters=MARCH, now=NOW)
    assert (stored.frt.median_hours, stored.resolution.median_hours) == (
        partly.frt.median_hours,
        partly.resolution.median_hours,
    )
    team_b = kpi_summary(user=manager, filters=KpiFilters(**{**MARCH.__dict__, "team_id": history["team_b"].pk}))
    assert team_b.frt.median_hours == pytest.approx(2.0, rel=HIST_ERROR)  # t3 only
    assert team_b.resolution.median_hours is None
    assert stored.created == exact.created  # sums never estimate
    settings.METRICS_MEDIAN_EXACT_ROWS = 3  # 3 responded, 2 resolved: both exact again
    small = kpi_summary(user=manager, filters=MARCH, now=NOW)
    assert (small.frt.median_hours, small.resolution.median_hours, small.medians_sampled) == (2.0, 15.0, False)
