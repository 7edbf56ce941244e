"""Per-ticket KPI facts and the daily rollup sums built from them.

One function computes everything a rollup row holds for a set of days, in a fixed handful of
queries per batch of tickets (tickets, messages, status events, SLA ledger, SLA calendars,
surveys). The rollup task stores its output for closed days; the dashboard calls the same
function for today (and for filters rollups cannot answer, such as a tag), so stored and live
figures cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q
from django.db.models.functions import ExtractHour, TruncDate
from django.utils import timezone

from tickets.models import UNSOLVED_STATUSES, AuthorKind, Event, Message, MessageDirection, Ticket, TicketStatus
from tickets.models_sla import SlaClock, SlaLedgerEntry
from tickets.sla.calendars import BusinessHours, business_time_between
from tickets.sla.selectors import business_hours_get

from .models import Survey, SurveyKind

PAUSED_STATUSES = frozenset({TicketStatus.PENDING, TicketStatus.ON_HOLD})
SOLVED_STATUSES = (TicketStatus.SOLVED, TicketStatus.CLOSED)
DIMENSIONS = ("team_id", "agent_id", "channel", "priority")
SUM_FIELDS = (
    "created",
    "responded",
    "frt_sum",
    "frt_business_sum",
    "nrt_count",
    "nrt_sum",
    "resolved",
    "resolution_sum",
    "resolution_business_sum",
    "reopened",
    "one_touch",
    "sla_met",
    "sla_missed",
    "solved",
    "csat_answered",
    "csat_satisfied",
    "ces_answered",
    "ces_sum",
    "nps_answered",
    "nps_promoters",
    "nps_detractors",
    "unsolved",
)
BATCH = 2000

HOUR_FIELDS = tuple(f"h{h:02d}" for h in range(24))
RollupKey = tuple[dt.date, int, int, str, str]  # day, team, agent, channel, priority
TagKey = tuple[dt.date, int, int, int, str, str]  # day, tag, team, agent, channel, priority

# Duration histograms (for medians from rollups): bucket 0 holds [0, 1 min); bucket k >= 1
# holds [1 min x R^(k-1), 1 min x R^k) with R = 2^(1/8), so a bucket is 9.05% wide and its
# geometric middle is within 4.5% of any value in it. In a rollup Counter a bucket is the key
# FRT_HIST + str(k) (first response) or RES_HIST + str(k) (resolution).
HIST_BASE_SECONDS = 60.0
HIST_RATIO = 2 ** (1 / 8)
HIST_ERROR = math.sqrt(HIST_RATIO) - 1  # largest relative error of a bucket's middle
FRT_HIST = "fh"
RES_HIST = "rh"
_LOG_RATIO = math.log(HIST_RATIO)


def duration_bucket(seconds: float) -> int:
    """The histogram bucket of a duration in seconds."""
    if seconds < HIST_BASE_SECONDS:
        return 0
    return 1 + int(math.log(seconds / HIST_BASE_SECONDS) / _LOG_RATIO)


def bucket_middle(bucket: int) -> float:
    """The value (seconds) a bucket stands for: its geometric middle (30 s for bucket 0)."""
    if bucket <= 0:
        return HIST_BASE_SECONDS / 2
    return HIST_BASE_SECONDS * HIST_RATIO ** (bucket - 1) * math.sqrt(HIST_RATIO)


def histogram_median(hist: dict[int, int]) -> float | None:
    """Median (seconds) of a histogram {bucket: count}: the middle of the bucket holding the
    middle value (the mean of the two for an even count), so within HIST_ERROR of the exact
    median (30 seconds below one minute)."""
    total = sum(hist.values())
    if total <= 0:
        return None
    lo, hi = (total - 1) // 2, total // 2
    seen, found = 0, {}
    for bucket in sorted(hist):
        n = hist[bucket]
        for rank in (lo, hi):
            if rank not in found and seen <= rank < seen + n:
                found[rank] = bucket_middle(bucket)
        seen += n
        if hi in found:
            break
    return (found[lo] + found[hi]) / 2


@dataclass
class TicketFacts:
    ticket_id: int
    frt: float | None = None  # seconds
    frt_business: float | None = None
    nrt: tuple[float, ...] = ()
    resolution: float | None = None
    resolution_business: float | None = None
    reopens: int = 0
    agent_replies: int = 0
    one_touch: bool = False
    sla_met: int = 0
    sla_missed: int = 0


def day_bounds(day_from: dt.date, day_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Aware [start, end) of local days day_from..day_to inclusive."""
    start = timezone.make_aware(dt.datetime.combine(day_from, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(day_to + dt.timedelta(days=1), dt.time.min))
    return start, end


def _paused_between(events: list[tuple[dt.datetime, str, str]], start: dt.datetime, end: dt.datetime):
    """Intervals within [start, end] spent pending or on hold, from status change events."""
    out, since = [], None
    for at, _old, new in events:
        if at > end:
            break
        if new in PAUSED_STATUSES and since is None:
            since = max(at, start)
        elif new not in PAUSED_STATUSES and since is not None:
            out.append((since, at))
            since = None
    if since is not None:
        out.append((since, end))
    return out


def ticket_facts(ticket_ids: list[int]) -> dict[int, TicketFacts]:
    """Facts of the given tickets (at most BATCH ids) in six queries plus one per SLA calendar."""
    tickets = {
        t["pk"]: t
        for t in Ticket.objects.filter(pk__in=ticket_ids).values(
            "pk", "created_at", "first_responded_at", "solved_at", "status"
        )
    }
    messages: dict[int, list[tuple[dt.datetime, str, bool]]] = defaultdict(list)
    for tid, direction, created, meta in (
        Message.objects.filter(ticket_id__in=ticket_ids, is_internal=False)
        .filter(
            Q(direction=MessageDirection.INBOUND, author_kind=AuthorKind.CUSTOMER)
            | Q(direction=MessageDirection.OUTBOUND, author_kind=AuthorKind.AGENT)
        )
        .order_by("created_at", "id")
        .values_list("ticket_id", "direction", "created_at", "metadata")
    ):
        survey_reply = bool(isinstance(meta, dict) and meta.get("survey_reply"))
        messages[tid].append((created, direction, survey_reply))
    status_events: dict[int, list[tuple[dt.datetime, str, str]]] = defaultdict(list)
    reopens: Counter[int] = Counter()
    for tid, verb, at, old, new in (
        Event.objects.filter(ticket_id__in=ticket_ids)
        .filter(Q(field="status") | Q(verb="survey_reply_resolved"))
        .order_by("created_at", "id")
        .values_list("ticket_id", "verb", "created_at", "old_value", "new_value")
    ):
        if verb == "reopened":
            reopens[tid] += 1
        elif verb == "survey_reply_resolved":
            reopens[tid] -= 1
        if verb != "survey_reply_resolved":
            status_events[tid].append((at, old, new))
    cycles: dict[int, dict[tuple[str, int], set[str]]] = defaultdict(lambda: defaultdict(set))
    for tid, metric, cycle, kind in SlaLedgerEntry.objects.filter(
        ticket_id__in=ticket_ids, kind__in=("fulfilled", "breached")
    ).values_list("ticket_id", "metric", "cycle", "kind"):
        cycles[tid][(metric, cycle)].add(kind)
    calendar_of: dict[int, int] = {}
    for tid, own, policy_calendar in (
        SlaClock.objects.filter(ticket_id__in=ticket_ids)
        .order_by("ticket_id", "id")
        .values_list("ticket_id", "calendar_id", "policy__calendar_id")
    ):
        calendar = policy_calendar or own
        if calendar and tid not in calendar_of:
            calendar_of[tid] = calendar
    hours: dict[int, BusinessHours] = {}
    for cid in set(calendar_of.values()):
        bh = business_hours_get(calendar_id=cid)
        if any(bh.week):  # a calendar without any opening hours counts calendar time
            hours[cid] = bh

    out: dict[int, TicketFacts] = {}
    for tid, t in tickets.items():
        f = TicketFacts(ticket_id=tid)
        bh = hours.get(calendar_of.get(tid, 0))
        created = t["created_at"]
        if t["first_responded_at"]:
            f.frt = (t["first_responded_at"] - created).total_seconds()
            f.frt_business = business_time_between(created, t["first_responded_at"], bh).total_seconds()
        # Next responses: from the first customer message after an agent reply to the next agent reply.
        waiting: dt.datetime | None = None
        replied = False
        nrt = []
        for at, direction, survey_reply in messages.get(tid, ()):
            if direction == MessageDirection.OUTBOUND:
                f.agent_replies += 1
                if replied and waiting is not None:
                    nrt.append((at - waiting).total_seconds())
                replied, waiting = True, None
            elif replied and waiting is None and not survey_reply:
                waiting = at
        f.nrt = tuple(nrt)
        f.reopens = max(reopens.get(tid, 0), 0)
        if t["solved_at"] and t["status"] in SOLVED_STATUSES:
            solved = t["solved_at"]
            f.resolution = (solved - created).total_seconds()
            business = business_time_between(created, solved, bh)
            for s, e in _paused_between(status_events.get(tid, []), created, solved):
                business -= business_time_between(s, e, bh)
            f.resolution_business = max(business.total_seconds(), 0.0)
            f.one_touch = f.agent_replies == 1 and f.reopens == 0
        for kinds in cycles.get(tid, {}).values():
            if "breached" in kinds:
                f.sla_missed += 1
            elif "fulfilled" in kinds:
                f.sla_met += 1
        out[tid] = f
    return out


def _dims(row: dict) -> tuple[int, int, str, str]:
    return (row["team_id"] or 0, row["assignee_id"] or 0, row["channel"], row["priority"])


def _tags_of(ticket_ids: list[int]) -> dict[int, list[int]]:
    through = Ticket.tags.through
    out: dict[int, list[int]] = defaultdict(list)
    for tid, tag in through.objects.filter(ticket_id__in=ticket_ids).values_list("ticket_id", "tag_id"):
        out[tid].append(tag)
    return out


def _add_survey(c: Counter, kind: str, score: int, n: int) -> None:
    if kind == SurveyKind.CSAT:
        c["csat_answered"] += n
        c["csat_satisfied"] += n if score >= 4 else 0
    elif kind == SurveyKind.CES:
        c["ces_answered"] += n
        c["ces_sum"] += n * score
    elif kind == SurveyKind.NPS:
        c["nps_answered"] += n
        c["nps_promoters"] += n if score >= 9 else 0
        c["nps_detractors"] += n if score <= 6 else 0


def rollup_compute(
    *, day_from: dt.date, day_to: dt.date, tickets_q: Q | None = None, surveys_q: Q | None = None
) -> tuple[dict[RollupKey, Counter], dict[TagKey, Counter]]:
    """Rollup sums for local days day_from..day_to: (rows by day x team x agent x channel x
    priority, rows by day x tag x team x agent x channel x priority). Each Counter holds
    SUM_FIELDS, HOUR_FIELDS (tickets created in each local hour) and the duration histogram
    buckets (FRT_HIST / RES_HIST + bucket number)."""
    start, end = day_bounds(day_from, day_to)
    base = Ticket.objects.filter(merged_into__isnull=True)
    if tickets_q is not None:
        base = base.filter(tickets_q).distinct()
    rows: dict[RollupKey, Counter] = defaultdict(Counter)
    tag_rows: dict[TagKey, Counter] = defaultdict(Counter)

    created = base.filter(created_at__gte=start, created_at__lt=end)
    fields = ("pk", "team_id", "assignee_id", "channel", "priority", "status")
    last = 0
    while True:
        batch = list(
            created.filter(pk__gt=last)
            .annotate(day=TruncDate("created_at"), hour=ExtractHour("created_at"))
            .order_by("pk")
            .values(*fields, "day", "hour")[:BATCH]
        )
        if not batch:
            break
        last = batch[-1]["pk"]
        ids = [r["pk"] for r in batch]
        facts = ticket_facts(ids)
        tags = _tags_of(ids)
        for r in batch:
            f = facts[r["pk"]]
            inc: Counter = Counter({"created": 1, HOUR_FIELDS[r["hour"]]: 1})
            if f.frt is not None:
                inc["responded"] += 1
                inc[FRT_HIST + str(duration_bucket(f.frt))] += 1
                inc["frt_sum"] += f.frt
                inc["frt_business_sum"] += f.frt_business or 0.0
            if f.nrt:
                inc["nrt_count"] += len(f.nrt)
                inc["nrt_sum"] += sum(f.nrt)
            if f.resolution is not None:
                inc["resolved"] += 1
                inc[RES_HIST + str(duration_bucket(f.resolution))] += 1
                inc["resolution_sum"] += f.resolution
                inc["resolution_business_sum"] += f.resolution_business or 0.0
                inc["one_touch"] += int(f.one_touch)
                inc["reopened"] += int(f.reopens > 0)
            inc["sla_met"] += f.sla_met
            inc["sla_missed"] += f.sla_missed
            if r["status"] in UNSOLVED_STATUSES:
                inc["unsolved"] += 1  # as of the computation: the backlog's older part
            dims = _dims(r)
            rows[(r["day"], *dims)].update(inc)
            for tag in tags.get(r["pk"], ()):
                tag_rows[(r["day"], tag, *dims)].update(inc)

    solved = base.filter(solved_at__gte=start, solved_at__lt=end, status__in=SOLVED_STATUSES).annotate(
        day=TruncDate("solved_at")
    )
    for r in (
        solved.values("day", "team_id", "assignee_id", "channel", "priority")
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    ):
        rows[(r["day"], *_dims(r))]["solved"] += r["n"]
    for r in (
        solved.filter(tags__isnull=False)
        .values("day", "tags__id", "team_id", "assignee_id", "channel", "priority")
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    ):
        tag_rows[(r["day"], r["tags__id"], *_dims(r))]["solved"] += r["n"]

    surveys = Survey.objects.filter(
        sent_at__gte=start, sent_at__lt=end, score__isnull=False, ticket__merged_into__isnull=True
    )
    if surveys_q is not None:
        surveys = surveys.filter(surveys_q).distinct()
    surveys = surveys.annotate(day=TruncDate("sent_at"))
    for r in (
        surveys.values("day", "team_id", "agent_id", "channel", "ticket__priority", "kind", "score")
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    ):
        key = (r["day"], r["team_id"] or 0, r["agent_id"] or 0, r["channel"], r["ticket__priority"])
        _add_survey(rows[key], r["kind"], r["score"], r["n"])
    for r in (
        surveys.filter(ticket__tags__isnull=False)
        .values("day", "ticket__tags__id", "team_id", "agent_id", "channel", "ticket__priority", "kind", "score")
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    ):
        key = (
            r["day"],
            r["ticket__tags__id"],
            r["team_id"] or 0,
            r["agent_id"] or 0,
            r["channel"],
            r["ticket__priority"],
        )
        _add_survey(tag_rows[key], r["kind"], r["score"], r["n"])
    return dict(rows), dict(tag_rows)


def days_between(day_from: dt.date, day_to: dt.date) -> Iterable[dt.date]:
    for offset in range((day_to - day_from).days + 1):
        yield day_from + dt.timedelta(days=offset)
