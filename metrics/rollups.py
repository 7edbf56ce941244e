"""Daily rollups: store the sums of `facts.rollup_compute` for closed days, incrementally, and
read KPI sums back (stored rows for closed days + a live computation for the rest)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from tickets.models import Event, Ticket
from tickets.models_sla import SlaLedgerEntry

from .facts import DIMENSIONS, SUM_FIELDS, rollup_compute
from .models import DailyRollup, HourlyVolumeRollup, RollupState, Survey

# A first run rolls up at most this many days of history.
MAX_HISTORY_DAYS = 3 * 366


def rollup_store_days(days: Iterable[dt.date]) -> int:
    """Recompute and replace the rollup rows of each day (one transaction per day). Idempotent:
    running it twice leaves the same rows. Returns the number of daily rows written."""
    written = 0
    for day in sorted(set(days)):
        rows, hourly = rollup_compute(day_from=day, day_to=day)
        with transaction.atomic():
            DailyRollup.objects.filter(day=day).delete()
            HourlyVolumeRollup.objects.filter(day=day).delete()
            DailyRollup.objects.bulk_create(
                [
                    DailyRollup(
                        day=key[0],
                        team_id=key[1],
                        agent_id=key[2],
                        channel=key[3],
                        priority=key[4],
                        **{f: sums.get(f, 0) for f in SUM_FIELDS},
                    )
                    for key, sums in rows.items()
                ],
                batch_size=1000,
            )
            HourlyVolumeRollup.objects.bulk_create(
                [
                    HourlyVolumeRollup(
                        day=k[0], hour=k[1], team_id=k[2], agent_id=k[3], channel=k[4], priority=k[5], created=n
                    )
                    for k, n in hourly.items()
                ],
                batch_size=1000,
            )
        written += len(rows)
    return written


def _local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def rollup_days_touched(*, since: dt.datetime | None, until: dt.datetime) -> set[dt.date]:
    """Local days whose rollup may have changed between `since` and `until`: the created day
    of tickets changed (or given SLA ledger entries) since then, the solve days of those
    tickets (current and earlier, for reopened tickets), and the issue day of surveys issued
    or answered since then. With no `since`, every day with a ticket or survey."""
    today = _local_day(until)
    if since is None:
        first = Ticket.objects.order_by("created_at").values_list("created_at", flat=True).first()
        first_survey = Survey.objects.order_by("sent_at").values_list("sent_at", flat=True).first()
        starts = [_local_day(x) for x in (first, first_survey) if x]
        if not starts:
            return set()
        start = max(min(starts), today - dt.timedelta(days=MAX_HISTORY_DAYS))
        return {start + dt.timedelta(days=i) for i in range((today - start).days)}
    changed = Ticket.objects.filter(updated_at__gte=since).values("pk")
    ledger = SlaLedgerEntry.objects.filter(created_at__gte=since).values("ticket_id")
    touched = Ticket.objects.filter(Q(pk__in=changed) | Q(pk__in=ledger))
    days: set[dt.date] = set()
    days.update(touched.annotate(d=TruncDate("created_at")).values_list("d", flat=True).distinct())
    days.update(
        touched.filter(solved_at__isnull=False)
        .annotate(d=TruncDate("solved_at"))
        .values_list("d", flat=True)
        .distinct()
    )
    days.update(
        Event.objects.filter(ticket__in=touched.values("pk"), field="status", new_value="solved")
        .annotate(d=TruncDate("created_at"))
        .values_list("d", flat=True)
        .distinct()
    )
    days.update(
        Survey.objects.filter(Q(sent_at__gte=since) | Q(answered_at__gte=since))
        .annotate(d=TruncDate("sent_at"))
        .values_list("d", flat=True)
        .distinct()
    )
    # Days that were "today" (so live, not stored) at the last run and have closed since.
    day = _local_day(since)
    while day < today:
        days.add(day)
        day += dt.timedelta(days=1)
    return {d for d in days if d is not None and d < today}


def rollup_refresh(*, now: dt.datetime | None = None) -> list[dt.date]:
    """The beat task's work: recompute the closed days touched since the last run and move the
    watermark to this run's start. Safe to run twice or concurrently (the state row is locked)."""
    now = now or timezone.now()
    with transaction.atomic():
        state, _ = RollupState.objects.select_for_update().get_or_create(name="daily")
        days = sorted(rollup_days_touched(since=state.watermark, until=now))
        rollup_store_days(days)
        state.watermark = now
        state.last_run_at = timezone.now()
        state.last_days = [d.isoformat() for d in days[-50:]]
        state.save()
    return days


def rollup_closed_until() -> dt.date | None:
    """Stored rollups answer for days before this date (the day of the last run); None: never run."""
    watermark = RollupState.objects.filter(name="daily").values_list("watermark", flat=True).first()
    return _local_day(watermark) if watermark else None


def _live(day_from: dt.date, day_to: dt.date, tq: Q | None, sq: Q | None, cache: dict | None):
    """rollup_compute, remembered in `cache` (one dict per page view) so a page computing
    several tables from the same live days does the work once."""
    key = (day_from, day_to, str(tq), str(sq))
    if cache is not None and key in cache:
        return cache[key]
    result = rollup_compute(day_from=day_from, day_to=day_to, tickets_q=tq, surveys_q=sq)
    if cache is not None:
        cache[key] = result
    return result


# The groupings the dashboard asks for; with a page cache they come from one GROUPING SETS scan.
STANDARD_SETS = ((), ("day",), ("channel",), ("agent_id",))


def _stored_grouping_sets(day_from: dt.date, day_to: dt.date, dims: dict) -> dict[tuple, dict[tuple, Counter]]:
    """{by: {key: sums}} for every STANDARD_SETS grouping of the stored rows, in one query."""
    table = DailyRollup._meta.db_table
    where, params = ["day >= %s", "day <= %s"], [day_from, day_to]
    for name in DIMENSIONS:
        if dims.get(name):
            where.append(f"{name} = %s")
            params.append(dims[name])
    sums = ", ".join(f"SUM({f})" for f in SUM_FIELDS)
    sql = (
        f"SELECT GROUPING(day, channel, agent_id), day, channel, agent_id, {sums} FROM {table} "
        f"WHERE {' AND '.join(where)} GROUP BY GROUPING SETS ((), (day), (channel), (agent_id))"
    )
    # GROUPING() bits: 4 day, 2 channel, 1 agent_id, set when that column is *not* grouped.
    sets = {7: (), 3: ("day",), 5: ("channel",), 6: ("agent_id",)}
    out: dict[tuple, dict[tuple, Counter]] = {by: defaultdict(Counter) for by in STANDARD_SETS}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            by = sets[row[0]]
            if not by and row[4] is None:
                continue  # no rows at all
            values = {"day": row[1], "channel": row[2], "agent_id": row[3]}
            key = tuple(values[b] for b in by)
            out[by][key].update({f: v or 0 for f, v in zip(SUM_FIELDS, row[4:], strict=True)})
    return out


def _dimension_q(dims: dict) -> Q:
    q = Q()
    for name in DIMENSIONS:
        if dims.get(name):
            q &= Q(**{name: dims[name]})
    return q


def rollup_sums(
    *,
    day_from: dt.date,
    day_to: dt.date,
    dims: dict,
    by: tuple[str, ...] = (),
    live_tickets_q: Q | None = None,
    live_surveys_q: Q | None = None,
    use_rollups: bool = True,
    cache: dict | None = None,
) -> dict[tuple, Counter]:
    """KPI sums over days day_from..day_to grouped by `by` (any of day, team_id, agent_id,
    channel, priority): stored rows for days before `rollup_closed_until()` (one GROUP BY
    query), the rest computed live. `use_rollups=False` computes everything live (tag filters)."""
    closed_until = rollup_closed_until() if use_rollups and live_tickets_q is None else None
    out: dict[tuple, Counter] = defaultdict(Counter)
    live_from = day_from
    if closed_until is not None and closed_until > day_from:
        stored_to = min(day_to, closed_until - dt.timedelta(days=1))
        if cache is not None and by in STANDARD_SETS:
            # One scan of the rollup table answers every standard grouping of the page.
            key = ("sets", day_from, stored_to, tuple(sorted((k, v) for k, v in dims.items() if v)))
            if key not in cache:
                cache[key] = _stored_grouping_sets(day_from, stored_to, dims)
            for k, v in cache[key].get(by, {}).items():
                out[k].update(v)
            by_done = True
        else:
            by_done = False
        qs = DailyRollup.objects.filter(_dimension_q(dims), day__gte=day_from, day__lte=stored_to)
        sums = {f"s_{f}": Sum(f) for f in SUM_FIELDS}
        if by_done:
            rows = []
        else:
            rows = qs.values(*by).annotate(**sums).order_by() if by else [qs.aggregate(**sums)]
        for r in rows:
            key = tuple(r[b] for b in by)
            if r["s_created"] is None and r["s_solved"] is None and r["s_csat_answered"] is None:
                continue  # an aggregate over no rows
            out[key].update({f: r[f"s_{f}"] or 0 for f in SUM_FIELDS})
        live_from = stored_to + dt.timedelta(days=1)
    if live_from <= day_to:
        rows, _hourly = _live(live_from, day_to, live_tickets_q, live_surveys_q, cache)
        index = {"day": 0, "team_id": 1, "agent_id": 2, "channel": 3, "priority": 4}
        for key, sums in rows.items():
            if any(dims.get(n) and key[index[n]] != dims[n] for n in DIMENSIONS):
                continue
            out[tuple(key[index[b]] for b in by)].update(sums)
    return dict(out)


def hourly_sums(
    *,
    day_from: dt.date,
    day_to: dt.date,
    dims: dict,
    live_tickets_q: Q | None = None,
    live_surveys_q: Q | None = None,
    use_rollups: bool = True,
    cache: dict | None = None,
) -> dict[tuple[int, int], int]:
    """Tickets created per (ISO weekday 1-7, local hour): stored rows then live, like rollup_sums."""
    closed_until = rollup_closed_until() if use_rollups and live_tickets_q is None else None
    out: dict[tuple[int, int], int] = defaultdict(int)
    live_from = day_from
    if closed_until is not None and closed_until > day_from:
        stored_to = min(day_to, closed_until - dt.timedelta(days=1))
        rows = (
            HourlyVolumeRollup.objects.filter(_dimension_q(dims), day__gte=day_from, day__lte=stored_to)
            .values("day", "hour")
            .annotate(n=Sum("created"))
            .order_by()
        )
        for r in rows:
            out[(r["day"].isoweekday(), r["hour"])] += r["n"]
        live_from = stored_to + dt.timedelta(days=1)
    if live_from <= day_to:
        _rows, hourly = _live(live_from, day_to, live_tickets_q, live_surveys_q, cache)
        for (day, hour, team, agent, channel, priority), n in hourly.items():
            key = {"team_id": team, "agent_id": agent, "channel": channel, "priority": priority}
            if any(dims.get(k) and key[k] != dims[k] for k in DIMENSIONS):
                continue
            out[(day.isoweekday(), hour)] += n
    return dict(out)
