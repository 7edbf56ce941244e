"""Daily rollups: what the beat task stores equals the live computation, it only recomputes
the days touched since its last run, and running it twice changes nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from metrics.facts import SUM_FIELDS
from metrics.models import DailyRollup, HourlyVolumeRollup, RollupState
from metrics.rollups import rollup_closed_until, rollup_days_touched, rollup_refresh, rollup_sums
from metrics.selectors import (
    KpiFilters,
    kpi_agents,
    kpi_daily_trend,
    kpi_summary,
    kpi_volume_by_channel,
    kpi_volume_by_weekday_hour,
)
from tests.factories import TicketFactory
from tickets.models import Ticket

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


def _stored_sums(day_from, day_to):
    return rollup_sums(day_from=day_from, day_to=day_to, dims={}).get((), {})


def _live_sums(day_from, day_to):
    return rollup_sums(day_from=day_from, day_to=day_to, dims={}, use_rollups=False).get((), {})


def test_rollups_equal_the_live_computation(history, office_history, manager):
    live = _everything(manager)
    assert rollup_closed_until() is None  # never run: all live
    days = rollup_refresh(now=AFTER)
    assert dt.date(2024, 3, 4) in days and dt.date(2024, 3, 12) not in days
    assert rollup_closed_until() == dt.date(2024, 3, 12)
    assert DailyRollup.objects.filter(day__range=(MARCH.date_from, MARCH.date_to)).exists()
    assert HourlyVolumeRollup.objects.exists()
    stored = _everything(manager)
    assert stored == live
    # As a page reads them: one GROUPING SETS scan shared by the tables.
    assert _everything(manager, cache={}) == live
    with_team = KpiFilters(**{**MARCH.__dict__, "team_id": history["team_b"].pk})
    assert _everything(manager, with_team, cache={}) == _everything(manager, with_team)
    assert stored["summary"]["created"] == 7 and stored["summary"]["sla_met"] == 3
    # Every sum, also per team and per channel.
    live_sums, stored_sums = _live_sums(MARCH.date_from, MARCH.date_to), _stored_sums(MARCH.date_from, MARCH.date_to)
    assert {f: stored_sums.get(f, 0) for f in SUM_FIELDS} == pytest.approx({f: live_sums.get(f, 0) for f in SUM_FIELDS})
    team_a = KpiFilters(**{**MARCH.__dict__, "team_id": history["team_a"].pk, "channel": "email"})
    assert dataclasses.asdict(kpi_summary(user=manager, filters=team_a, now=NOW))["created"] == 2


def test_refresh_is_idempotent(history, manager):
    rollup_refresh(now=AFTER)
    first = sorted(DailyRollup.objects.values_list("day", "channel", "created", "solved", "frt_sum"))
    RollupState.objects.update(watermark=None)  # as if the task were delivered twice from scratch
    rollup_refresh(now=AFTER)
    assert sorted(DailyRollup.objects.values_list("day", "channel", "created", "solved", "frt_sum")) == first


def test_incremental_refresh_recomputes_only_touched_days(history, manager):
    rollup_refresh(now=AFTER)
    later = AFTER + dt.timedelta(hours=1)
    # Nothing changed since: only nothing (12 March itself is today, never stored).
    Ticket.objects.update(updated_at=AFTER - dt.timedelta(days=1))
    assert rollup_days_touched(since=AFTER, until=later) == set()
    # t3 (created 4 March) is solved on 11 March: its creation day and its solve day change.
    t3 = history["t3"]
    Ticket.objects.filter(pk=t3.pk).update(status="solved", solved_at=at(11), updated_at=later)
    touched = rollup_days_touched(since=AFTER, until=at(13))
    assert touched == {dt.date(2024, 3, 4), dt.date(2024, 3, 11), dt.date(2024, 3, 12)}
    before = _everything(manager)
    rollup_refresh(now=at(13))
    after = _everything(manager)
    assert after["summary"]["resolved"] == before["summary"]["resolved"] + 1
    assert DailyRollup.objects.filter(day=dt.date(2024, 3, 11)).values_list("solved", flat=True).get() == 1
    # Still equal to the live computation.
    assert _stored_sums(MARCH.date_from, dt.date(2024, 3, 11)) == _live_sums(MARCH.date_from, dt.date(2024, 3, 11))


def test_today_is_live_even_with_rollups(history, manager):
    rollup_refresh(now=AFTER)
    # A ticket created on 12 March (after the run) shows at once: 12 March is computed live.
    TicketFactory(channel="chat", created_at=at(12, 11))
    filters = KpiFilters(date_from=dt.date(2024, 3, 10), date_to=dt.date(2024, 3, 12))
    s = kpi_summary(user=manager, filters=filters, now=at(12, 12))
    assert s.created == 2  # t6 (10 March, stored) + the new one (live)


@pytest.mark.django_db(transaction=True)
def test_beat_task_runs_on_a_real_worker(celery_worker, settings):
    from django.utils import timezone

    from metrics.tasks import rollups_refresh_task

    created = timezone.now() - dt.timedelta(days=2)
    TicketFactory(channel="email", created_at=created, first_responded_at=created + dt.timedelta(hours=2))
    result = rollups_refresh_task.delay()
    assert result.get(timeout=60) >= 1
    day = timezone.localtime(created).date()
    assert DailyRollup.objects.filter(day=day, created=1, responded=1, frt_sum=7200).exists()
