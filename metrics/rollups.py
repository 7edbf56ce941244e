"""Daily rollups: store the sums of `facts.rollup_compute` for every grouping of the
dashboard's dimensions, incrementally, and read KPI sums back.

Storage (`DailyRollup`): per day, one row per value combination of every subset of (team,
agent, channel, priority) -- the `gset` bit mask says which of them a row is split by -- plus
tag rows (alone, by agent, by channel). Any filter of the dashboard then reads one row per day
and value: a 365-day page reads a few thousand rows through one index, whatever the number of
tickets.

Reading: stored rows for days up to the day of the last refresh (today included, as of that
refresh), the same computation live for later days (when the task has not run since), and
everything live when rollups cannot answer (a tag combined with another filter, an agent who
may not see every ticket) or have never been built.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from tickets.models import Event, Ticket
from tickets.models_sla import SlaLedgerEntry

from .facts import DIMENSIONS, HOUR_FIELDS, SUM_FIELDS, rollup_compute
from .models import DailyRollup, RollupState, Survey

# A first run (or a rebuild without --days) rolls up at most this many days of history.
MAX_HISTORY_DAYS = 3 * 366

# gset bits; LEAF is the finest (team x agent x channel x priority) row.
DIM_BITS = {"team_id": 1, "agent_id": 2, "channel": 4, "priority": 8}
TAG_BIT = 16
LEAF = 15
TAG_SETS = (TAG_BIT, TAG_BIT | DIM_BITS["agent_id"], TAG_BIT | DIM_BITS["channel"])
ALL_FIELDS = (*SUM_FIELDS, *HOUR_FIELDS)
_EMPTY = {"team_id": 0, "agent_id": 0, "channel": "", "priority": "", "tag_id": 0}


def _local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


# Consecutive days are computed together (one pass over the tickets for up to this many days).
CHUNK_DAYS = 14


_KEY_COLUMNS = ("day", "gset", "team_id", "agent_id", "channel", "priority", "tag_id")


def _cube_rows(day_from: dt.date, day_to: dt.date) -> dict[dt.date, list[tuple]]:
    """Every grouping of the sums of days day_from..day_to as row tuples (_KEY_COLUMNS then
    ALL_FIELDS), by day."""
    rows, tag_rows = rollup_compute(day_from=day_from, day_to=day_to)
    cells: dict[tuple, list] = {}

    def add(key: tuple, vector: list) -> None:
        acc = cells.get(key)
        cells[key] = vector if acc is None else [a + b for a, b in zip(acc, vector, strict=True)]

    for (d, team, agent, channel, priority), sums in rows.items():
        vector = [sums.get(f, 0) for f in ALL_FIELDS]
        for gset in range(16):
            key = (
                d,
                gset,
                team if gset & 1 else 0,
                agent if gset & 2 else 0,
                channel if gset & 4 else "",
                priority if gset & 8 else "",
                0,
            )
            add(key, vector)
    for (d, tag, agent, channel), sums in tag_rows.items():
        vector = [sums.get(f, 0) for f in ALL_FIELDS]
        for gset in TAG_SETS:
            add((d, gset, 0, agent if gset & 2 else 0, channel if gset & 4 else "", "", tag), vector)
    out: dict[dt.date, list[tuple]] = defaultdict(list)
    for key, vector in cells.items():
        out[key[0]].append((*key, *vector))
    return out


def _insert(rows: list[tuple]) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":
        from psycopg2.extras import execute_values

        columns = ", ".join(f'"{c}"' for c in (*_KEY_COLUMNS, *ALL_FIELDS))
        with connection.cursor() as cursor:
            execute_values(
                cursor.cursor if hasattr(cursor, "cursor") else cursor,
                f"INSERT INTO {DailyRollup._meta.db_table} ({columns}) VALUES %s",
                rows,
                page_size=1000,
            )
    else:
        names = (*_KEY_COLUMNS, *ALL_FIELDS)
        DailyRollup.objects.bulk_create([DailyRollup(**dict(zip(names, r, strict=True))) for r in rows], batch_size=500)


def _runs(days: list[dt.date]) -> list[list[dt.date]]:
    """Sorted days cut into runs of consecutive days, CHUNK_DAYS at most each."""
    runs: list[list[dt.date]] = []
    for day in days:
        if runs and day - runs[-1][-1] == dt.timedelta(days=1) and len(runs[-1]) < CHUNK_DAYS:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def rollup_store_days(days: Iterable[dt.date], progress: Callable[[int, int, dt.date, int], None] | None = None) -> int:
    """Recompute and replace the rollup rows of each day (one transaction per day). Idempotent:
    running it twice leaves the same rows. `progress(done, total, day, rows)` is called after
    each day. Returns the number of rows written."""
    days = sorted(set(days))
    written = done = 0
    for run in _runs(days):
        by_day = _cube_rows(run[0], run[-1])
        for day in run:
            objects = by_day.get(day, [])
            with transaction.atomic():
                DailyRollup.objects.filter(day=day).delete()
                _insert(objects)
            written += len(objects)
            done += 1
            if progress is not None:
                progress(done, len(days), day, len(objects))
    return written


def rollup_days_touched(*, since: dt.datetime | None, until: dt.datetime) -> set[dt.date]:
    """Local days whose rollup may have changed between `since` and `until`: the created day
    of tickets changed (or given SLA ledger entries) since then, the solve days of those
    tickets (current and earlier, for reopened tickets), the issue day of surveys issued or
    answered since then, and every day from the last run's day to today (today is stored as
    of each run). With no `since`, every day with a ticket or survey (at most MAX_HISTORY_DAYS)."""
    today = _local_day(until)
    if since is None:
        first = Ticket.objects.order_by("created_at").values_list("created_at", flat=True).first()
        first_survey = Survey.objects.order_by("sent_at").values_list("sent_at", flat=True).first()
        starts = [_local_day(x) for x in (first, first_survey) if x]
        if not starts:
            return set()
        start = max(min(starts), today - dt.timedelta(days=MAX_HISTORY_DAYS))
        return {start + dt.timedelta(days=i) for i in range((today - start).days + 1)}
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
    # The day of the last run (stored as it was then) up to today.
    day = _local_day(since)
    while day <= today:
        days.add(day)
        day += dt.timedelta(days=1)
    return {d for d in days if d is not None and d <= today}


def rollup_refresh(*, now: dt.datetime | None = None) -> list[dt.date]:
    """The beat task's work: recompute the days touched since the last run and move the
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


def rollup_rebuild(
    *,
    day_from: dt.date | None = None,
    day_to: dt.date | None = None,
    progress: Callable[[int, int, dt.date, int], None] | None = None,
) -> tuple[int, int]:
    """Recompute every day (or day_from..day_to) from the tickets, then set the watermark to
    the rebuild's start (changes made while it ran are picked up by the next refresh). Safe
    while the beat task runs: each day is replaced in its own transaction. (days, rows)."""
    started = timezone.now()
    today = _local_day(started)
    if day_from is None:
        days = sorted(rollup_days_touched(since=None, until=started))
    else:
        last = min(day_to or today, today)
        days = [day_from + dt.timedelta(days=i) for i in range((last - day_from).days + 1)]
    if day_from is None and days:
        DailyRollup.objects.filter(day__lt=days[0]).delete()
    rows = rollup_store_days(days, progress=progress)
    if day_from is None:
        with transaction.atomic():
            state, _ = RollupState.objects.select_for_update().get_or_create(name="daily")
            if state.watermark is None or state.watermark < started:
                state.watermark = started
            state.last_run_at = timezone.now()
            state.last_days = [d.isoformat() for d in days[-50:]]
            state.save()
    return len(days), rows


def rollup_stored_until(cache: dict | None = None) -> dt.date | None:
    """Stored rollups answer for days up to this date (the day of the last run, as of that run);
    None: never run. Remembered in `cache` (one dict per page view)."""
    if cache is not None and "stored_until" in cache:
        return cache["stored_until"]
    watermark = RollupState.objects.filter(name="daily").values_list("watermark", flat=True).first()
    out = _local_day(watermark) if watermark else None
    if cache is not None:
        cache["stored_until"] = out
    return out


def rollup_refreshed_at() -> dt.datetime | None:
    return RollupState.objects.filter(name="daily").values_list("watermark", flat=True).first()


def _live(day_from: dt.date, day_to: dt.date, tq: Q | None, sq: Q | None, cache: dict | None):
    """rollup_compute, remembered in `cache` (one dict per page view) so a page computing
    several tables from the same live days does the work once."""
    key = ("live", day_from, day_to, str(tq), str(sq))
    if cache is not None and key in cache:
        return cache[key]
    result = rollup_compute(day_from=day_from, day_to=day_to, tickets_q=tq, surveys_q=sq)
    if cache is not None:
        cache[key] = result
    return result


def _stored(
    day_from: dt.date, day_to: dt.date, dims: dict, tag_id: int | None, by: tuple[str, ...], cache: dict | None
) -> dict[tuple, Counter]:
    """Stored sums grouped by `by`: one indexed query on the grouping that holds exactly the
    filtered and grouped dimensions."""
    wanted = {n for n in DIMENSIONS if dims.get(n)} | {b for b in by if b != "day"}
    gset = sum(DIM_BITS[n] for n in wanted) | (TAG_BIT if tag_id else 0)
    key = ("stored", day_from, day_to, gset, tag_id, tuple(sorted((k, v) for k, v in dims.items() if v)), by)
    if cache is not None and key in cache:
        return cache[key]
    condition = {"gset": gset, "tag_id": tag_id or 0, "day__gte": day_from, "day__lte": day_to}
    for name in DIMENSIONS:
        if dims.get(name):
            condition[name] = dims[name]
        elif name not in wanted:
            condition[name] = _EMPTY[name]
    qs = DailyRollup.objects.filter(**condition)
    out: dict[tuple, Counter] = defaultdict(Counter)
    if by == ("day",):
        # One row per day: no aggregation needed.
        for r in qs.values("day", *ALL_FIELDS):
            out[(r["day"],)].update({f: r[f] for f in ALL_FIELDS if r[f]})
    else:
        # Hours are only read per day (the heat map); other groupings sum the KPI fields.
        sums = {f"s_{f}": Sum(f) for f in SUM_FIELDS}
        for r in qs.values(*by).annotate(**sums).order_by():
            out[tuple(r[b] for b in by)].update({f: r[f"s_{f}"] for f in SUM_FIELDS if r[f"s_{f}"]})
    out = dict(out)
    if cache is not None:
        cache[key] = out
    return out


def rollup_sums(
    *,
    day_from: dt.date,
    day_to: dt.date,
    dims: dict,
    by: tuple[str, ...] = (),
    tag_id: int | None = None,
    live_tickets_q: Q | None = None,
    live_surveys_q: Q | None = None,
    use_rollups: bool = True,
    cache: dict | None = None,
) -> dict[tuple, Counter]:
    """KPI sums (SUM_FIELDS and HOUR_FIELDS) over days day_from..day_to grouped by `by` (any of
    day, team_id, agent_id, channel, priority), filtered by `dims` and a tag id. Stored rows for
    days up to `rollup_stored_until()`, the rest computed live. Live throughout when
    `use_rollups` is False or `live_tickets_q` is given (conditions rollups cannot answer);
    then `tag_id` must be part of those conditions."""
    if by == ():
        # The total is the sum of the days: the page's per-day read answers both.
        per_day = rollup_sums(
            day_from=day_from,
            day_to=day_to,
            dims=dims,
            by=("day",),
            tag_id=tag_id,
            live_tickets_q=live_tickets_q,
            live_surveys_q=live_surveys_q,
            use_rollups=use_rollups,
            cache=cache,
        )
        total: Counter = Counter()
        for sums in per_day.values():
            total.update(sums)
        return {(): total} if per_day else {}
    if tag_id and (any(b not in ("day", "agent_id", "channel") for b in by) or any(dims.get(n) for n in DIMENSIONS)):
        raise ValueError("Tag rollups answer a tag alone, by day, agent or channel; use the live path.")
    stored_until = rollup_stored_until(cache) if use_rollups and live_tickets_q is None else None
    out: dict[tuple, Counter] = defaultdict(Counter)
    live_from = day_from
    if stored_until is not None and stored_until >= day_from:
        stored_to = min(day_to, stored_until)
        for k, v in _stored(day_from, stored_to, dims, tag_id, by, cache).items():
            out[k].update(v)
        live_from = stored_to + dt.timedelta(days=1)
    if live_from <= day_to:
        tq = live_tickets_q
        sq = live_surveys_q
        if tag_id and tq is None:
            tq, sq = Q(tags__id=tag_id), Q(ticket__tags__id=tag_id)
        rows, _tag_rows = _live(live_from, day_to, tq, sq, cache)
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
    tag_id: int | None = None,
    live_tickets_q: Q | None = None,
    live_surveys_q: Q | None = None,
    use_rollups: bool = True,
    cache: dict | None = None,
) -> dict[tuple[int, int], int]:
    """Tickets created per (ISO weekday 1-7, local hour), from the same per-day rows as the
    daily trend (no extra query when the page already read them)."""
    per_day = rollup_sums(
        day_from=day_from,
        day_to=day_to,
        dims=dims,
        by=("day",),
        tag_id=tag_id,
        live_tickets_q=live_tickets_q,
        live_surveys_q=live_surveys_q,
        use_rollups=use_rollups,
        cache=cache,
    )
    out: dict[tuple[int, int], int] = defaultdict(int)
    for (day,), sums in per_day.items():
        for hour, name in enumerate(HOUR_FIELDS):
            if sums.get(name):
                out[(day.isoweekday(), hour)] += sums[name]
    return dict(out)


def progress_printer(write: Callable[[str], None], every: int = 10) -> Callable[[int, int, dt.date, int], None]:
    """A `progress` callback printing done/total, the day, rows and an ETA every `every` days."""
    started = time.perf_counter()

    def report(done: int, total: int, day: dt.date, rows: int) -> None:
        if done % every and done != total:
            return
        elapsed = time.perf_counter() - started
        eta = elapsed / done * (total - done)
        write(f"{done}/{total} days (at {day}, {rows} rows that day), {elapsed:.0f}s elapsed, ~{eta:.0f}s left")

    return report
