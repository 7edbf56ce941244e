"""Daily rollups: store the sums of `facts.rollup_compute` for groupings of the dashboard's
dimensions, incrementally, and read KPI sums back.

Storage (`DailyRollup`): per day, one row per value combination of each grouping set in
STORED_GSETS -- the `gset` bit mask says which of team, agent, channel, priority and tag a row
is split by. Every subset of (team, agent, channel, priority) is stored, and with the tag every
subset of (team, channel, priority), the tag by agent and the finest tag row (all five): so
every combination of the dashboard's filters, grouped by day, channel or agent, is answered by
the rows of one grouping -- the exact one, or (a tag with an agent and something else) the
finest tag rows summed. A 365-day page reads a few thousand rows through one index, whatever
the number of tickets.

Reading: stored rows for days up to the day of the last refresh (today included, as of that
refresh), the same computation live for later days (when the task has not run since), and
everything live when rollups cannot answer (an agent who may not see every ticket) or have
never been built.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from tickets.models import Event, Ticket
from tickets.models_sla import SlaLedgerEntry

from .facts import DIMENSIONS, FRT_HIST, HOUR_FIELDS, RES_HIST, SUM_FIELDS, rollup_compute
from .models import DailyRollup, RollupState, Survey

# A first run (or a rebuild without --days) rolls up at most this many days of history.
MAX_HISTORY_DAYS = 3 * 366

# gset bits; LEAF is the finest (team x agent x channel x priority) row.
DIM_BITS = {"team_id": 1, "agent_id": 2, "channel": 4, "priority": 8}
TAG_BIT = 16
LEAF = 15
TAG_LEAF = 31
# The tag with every subset of (team, channel, priority): small (no agent); the tag by agent
# alone and with one of team, channel, priority (the agents table of a tag with one more
# filter); the finest tag rows, summed for a tag with an agent and two or more filters (few
# rows: one agent's tickets with the tag). At 1M tickets that is about 2.4M rows a year.
TAG_SETS = tuple(
    sorted(
        {TAG_BIT | t | c | p for t in (0, 1) for c in (0, 4) for p in (0, 8)}
        | {TAG_BIT | 2 | other for other in (0, 1, 4, 8)}
        | {TAG_LEAF}
    )
)
STORED_GSETS = frozenset(range(16)) | frozenset(TAG_SETS)
# Rough number of values per dimension, to read the smallest stored grouping that answers.
_SPREAD = {1: 5, 2: 40, 4: 10, 8: 4, 16: 16}
ALL_FIELDS = (*SUM_FIELDS, *HOUR_FIELDS)
HIST_COLUMNS = ("frt_hist", "resolution_hist")
_EMPTY = {"team_id": 0, "agent_id": 0, "channel": "", "priority": "", "tag_id": 0}


def gset_for(wanted: int) -> int:
    """The stored grouping that answers a read split by (filtered on or grouped by) the
    dimensions of the bit mask `wanted`: the same grouping when stored, else the smallest
    stored one holding all of them (its rows are then summed)."""
    if wanted in STORED_GSETS:
        return wanted
    candidates = [g for g in STORED_GSETS if g & wanted == wanted]
    return min(candidates, key=lambda g: math.prod(v for bit, v in _SPREAD.items() if g & bit))


def _local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


# Consecutive days are computed together (one pass over the tickets for up to this many days).
CHUNK_DAYS = 14


_KEY_COLUMNS = ("day", "gset", "team_id", "agent_id", "channel", "priority", "tag_id")


def _split(sums: Counter) -> tuple[list, dict[str, int], dict[str, int]]:
    """A computed Counter as (ALL_FIELDS vector, first response histogram, resolution histogram)."""
    vector = [sums.get(f, 0) for f in ALL_FIELDS]
    frt: dict[str, int] = {}
    res: dict[str, int] = {}
    for name, n in sums.items():
        if name[:2] == FRT_HIST:
            frt[name[2:]] = n
        elif name[:2] == RES_HIST:
            res[name[2:]] = n
    return vector, frt, res


def _cube_rows(day_from: dt.date, day_to: dt.date) -> dict[dt.date, list[tuple]]:
    """Every stored grouping of the sums of days day_from..day_to as row tuples (_KEY_COLUMNS,
    ALL_FIELDS, then the two histograms as dicts), by day."""
    rows, tag_rows = rollup_compute(day_from=day_from, day_to=day_to)
    cells: dict[tuple, tuple[list, Counter, Counter]] = {}

    def add(key: tuple, vector: list, frt: dict, res: dict) -> None:
        acc = cells.get(key)
        if acc is None:
            cells[key] = (list(vector), Counter(frt), Counter(res))
            return
        acc_vector = acc[0]
        for i, v in enumerate(vector):
            if v:
                acc_vector[i] += v
        acc[1].update(frt)
        acc[2].update(res)

    for (d, team, agent, channel, priority), sums in rows.items():
        vector, frt, res = _split(sums)
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
            add(key, vector, frt, res)
    for (d, tag, team, agent, channel, priority), sums in tag_rows.items():
        vector, frt, res = _split(sums)
        for gset in TAG_SETS:
            key = (
                d,
                gset,
                team if gset & 1 else 0,
                agent if gset & 2 else 0,
                channel if gset & 4 else "",
                priority if gset & 8 else "",
                tag,
            )
            add(key, vector, frt, res)
    out: dict[dt.date, list[tuple]] = defaultdict(list)
    # In key order: a day's rows of one grouping land on neighbouring pages, so a read of one
    # grouping over a year touches a few pages a day, not one page a row.
    for key in sorted(cells, key=lambda k: (k[0], k[1], k[6], k[2], k[3], k[4], k[5])):  # the unique index's order
        vector, frt, res = cells[key]
        out[key[0]].append((*key, *vector, dict(frt), dict(res)))
    return out


def _insert(rows: list[tuple]) -> None:
    if not rows:
        return
    names = (*_KEY_COLUMNS, *ALL_FIELDS, *HIST_COLUMNS)
    if connection.vendor == "postgresql":
        from psycopg2.extras import execute_values

        columns = ", ".join(f'"{c}"' for c in names)
        template = "(" + ", ".join(["%s"] * (len(names) - 2) + ["%s::jsonb", "%s::jsonb"]) + ")"
        dumps = json.JSONEncoder(separators=(",", ":")).encode
        with connection.cursor() as cursor:
            execute_values(
                cursor.cursor if hasattr(cursor, "cursor") else cursor,
                f"INSERT INTO {DailyRollup._meta.db_table} ({columns}) VALUES %s",
                [(*r[:-2], dumps(r[-2]), dumps(r[-1])) for r in rows],
                template=template,
                page_size=1000,
            )
    else:
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


def rollup_refreshed_at(cache: dict | None = None) -> dt.datetime | None:
    """The watermark: stored rollups hold every change made before it (None: never built).
    Remembered in `cache` (one dict per page view)."""
    if cache is not None and "watermark" in cache:
        return cache["watermark"]
    row = RollupState.objects.filter(name="daily").values_list("watermark", "last_run_at").first()
    watermark, last_run_at = row or (None, None)
    if cache is not None:
        cache["watermark"], cache["last_run_at"] = watermark, last_run_at
    return watermark


def rollup_stored_until(cache: dict | None = None) -> dt.date | None:
    """Stored rollups answer for days up to this date (the day of the last run, as of that run);
    None: never run."""
    watermark = rollup_refreshed_at(cache)
    return _local_day(watermark) if watermark else None


def rollup_unsolved_by_day(
    *, day_from: dt.date, day_to: dt.date, dims: dict, tag_id: int | None = None
) -> dict[dt.date, int]:
    """{day: tickets created that day and unsolved as of the last refresh}, from stored rows."""
    qs, _exact = _stored_rows(day_from, day_to, dims, tag_id, ("day",))
    return {d: n for d, n in qs.values("day").annotate(n=Sum("unsolved")).values_list("day", "n").order_by() if n}


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


def _wanted_bits(dims: dict, tag_id: int | None, by: tuple[str, ...]) -> int:
    wanted = sum(DIM_BITS[n] for n in DIMENSIONS if dims.get(n)) | sum(DIM_BITS[b] for b in by if b != "day")
    return wanted | (TAG_BIT if tag_id else 0)


def _stored_rows(day_from: dt.date, day_to: dt.date, dims: dict, tag_id: int | None, by: tuple[str, ...]):
    """(queryset of the stored rows answering the filters and grouping, whether those rows are
    exactly one per group value and day)."""
    wanted = _wanted_bits(dims, tag_id, by)
    gset = gset_for(wanted)
    condition = {"gset": gset, "tag_id": tag_id or 0, "day__gte": day_from, "day__lte": day_to}
    for name in DIMENSIONS:
        if dims.get(name):
            condition[name] = dims[name]
        elif not gset & DIM_BITS[name]:
            condition[name] = _EMPTY[name]
    return DailyRollup.objects.filter(**condition), gset == wanted


def _stored(
    day_from: dt.date,
    day_to: dt.date,
    dims: dict,
    tag_id: int | None,
    by: tuple[str, ...],
    cache: dict | None,
    fields: tuple[str, ...] | None = None,
) -> dict[tuple, Counter]:
    """Stored sums grouped by `by`: one indexed query on the grouping that holds the filtered
    and grouped dimensions (summing its rows when it is finer than asked). `fields`: only these
    sums (groupings other than by day)."""
    key = ("stored", day_from, day_to, tag_id, tuple(sorted((k, v) for k, v in dims.items() if v)), by, fields)
    if cache is not None and key in cache:
        return cache[key]
    qs, exact = _stored_rows(day_from, day_to, dims, tag_id, by)
    out: dict[tuple, Counter] = {}
    if by == ("day",) and exact:
        # One row per day: no aggregation needed.
        for row in qs.values_list("day", *ALL_FIELDS):
            out[(row[0],)] = Counter({f: v for f, v in zip(ALL_FIELDS, row[1:], strict=True) if v})
    else:
        # Hours are only read per day (the heat map); other groupings sum the KPI fields.
        fields = ALL_FIELDS if "day" in by else (fields or SUM_FIELDS)
        sums = {f"s_{f}": Sum(f) for f in fields}
        for r in qs.values(*by).annotate(**sums).order_by():
            out[tuple(r[b] for b in by)] = Counter({f: r[f"s_{f}"] for f in fields if r[f"s_{f}"]})
    if cache is not None:
        cache[key] = out
    return out


_LIVE_INDEX = {"day": 0, "team_id": 1, "agent_id": 2, "channel": 3, "priority": 4}


def _live_grouped(
    day_from: dt.date,
    day_to: dt.date,
    dims: dict,
    tag_id: int | None,
    by: tuple[str, ...],
    tq: Q | None,
    sq: Q | None,
    cache: dict | None,
) -> dict[tuple, Counter]:
    """The live computation of days day_from..day_to filtered and grouped like a stored read
    (histogram buckets included)."""
    if tag_id and tq is None:
        tq, sq = Q(tags__id=tag_id), Q(ticket__tags__id=tag_id)
    rows, _tag_rows = _live(day_from, day_to, tq, sq, cache)
    out: dict[tuple, Counter] = defaultdict(Counter)
    for key, sums in rows.items():
        if any(dims.get(n) and key[_LIVE_INDEX[n]] != dims[n] for n in DIMENSIONS):
            continue
        out[tuple(key[_LIVE_INDEX[b]] for b in by)].update(sums)
    return out


def _stored_until_for(use_rollups: bool, live_tickets_q: Q | None, cache: dict | None) -> dt.date | None:
    return rollup_stored_until(cache) if use_rollups and live_tickets_q is None else None


def _is_histogram(name: str) -> bool:
    return name[:2] in (FRT_HIST, RES_HIST)


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
    fields: tuple[str, ...] | None = None,
) -> dict[tuple, Counter]:
    """KPI sums (SUM_FIELDS and HOUR_FIELDS) over days day_from..day_to grouped by `by` (any of
    day, team_id, agent_id, channel, priority), filtered by `dims` and a tag id (any
    combination). Stored rows for days up to `rollup_stored_until()`, the rest computed live.
    Live throughout when `use_rollups` is False or `live_tickets_q` is given (conditions
    rollups cannot answer); then `tag_id` must be part of those conditions. `fields`: the sums
    needed (a grouping other than by day may read only these; others may be missing)."""
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
    stored_until = _stored_until_for(use_rollups, live_tickets_q, cache)
    out: dict[tuple, Counter] = defaultdict(Counter)
    live_from = day_from
    if stored_until is not None and stored_until >= day_from:
        stored_to = min(day_to, stored_until)
        for k, v in _stored(day_from, stored_to, dims, tag_id, by, cache, fields).items():
            out[k].update(v)
        live_from = stored_to + dt.timedelta(days=1)
    if live_from <= day_to:
        live = _live_grouped(live_from, day_to, dims, tag_id, by, live_tickets_q, live_surveys_q, cache)
        for k, v in live.items():
            out[k].update({name: n for name, n in v.items() if not _is_histogram(name)})
    return dict(out)


def _stored_histograms(day_from: dt.date, day_to: dt.date, dims: dict, tag_id: int | None) -> tuple[Counter, Counter]:
    """The first response and resolution histograms of the stored rows, summed (one query)."""
    qs, _exact = _stored_rows(day_from, day_to, dims, tag_id, ("day",))
    frt: Counter = Counter()
    res: Counter = Counter()
    if connection.vendor == "postgresql":
        sql, params = qs.values("frt_hist", "resolution_hist").order_by().query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH r AS ({sql}) "
                "SELECT 0, e.key, SUM(e.value::int) FROM r, jsonb_each_text(r.frt_hist) e GROUP BY e.key "
                "UNION ALL "
                "SELECT 1, e.key, SUM(e.value::int) FROM r, jsonb_each_text(r.resolution_hist) e GROUP BY e.key",
                params,
            )
            for which, bucket, n in cursor.fetchall():
                (res if which else frt)[int(bucket)] += int(n)
        return frt, res
    for frt_hist, res_hist in qs.values_list("frt_hist", "resolution_hist"):
        frt.update({int(k): v for k, v in (frt_hist or {}).items()})
        res.update({int(k): v for k, v in (res_hist or {}).items()})
    return frt, res


def rollup_histograms(
    *,
    day_from: dt.date,
    day_to: dt.date,
    dims: dict,
    tag_id: int | None = None,
    live_tickets_q: Q | None = None,
    live_surveys_q: Q | None = None,
    use_rollups: bool = True,
    cache: dict | None = None,
) -> tuple[Counter, Counter]:
    """({bucket: tickets} of first response times, the same of resolution times) over days
    day_from..day_to, filtered like `rollup_sums` (stored rows, later days live)."""
    stored_until = _stored_until_for(use_rollups, live_tickets_q, cache)
    frt: Counter = Counter()
    res: Counter = Counter()
    live_from = day_from
    if stored_until is not None and stored_until >= day_from:
        stored_to = min(day_to, stored_until)
        frt, res = _stored_histograms(day_from, stored_to, dims, tag_id)
        live_from = stored_to + dt.timedelta(days=1)
    if live_from <= day_to:
        live = _live_grouped(live_from, day_to, dims, tag_id, (), live_tickets_q, live_surveys_q, cache)
        for name, n in live.get((), Counter()).items():
            if name[:2] == FRT_HIST:
                frt[int(name[2:])] += n
            elif name[:2] == RES_HIST:
                res[int(name[2:])] += n
    return frt, res


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
