"""KPI reads for the manager dashboard. Every figure is an aggregate query over tickets (read
through `tickets.selectors.ticket_visibility_q`) or surveys; a dashboard is a fixed handful of
queries whatever the number of tickets.

Definitions (shown on the dashboard too):

- Tickets in scope: tickets *created* in the date range (inclusive days in the server's time
  zone) matching team, agent (assignee), channel and priority. Backlog ignores the dates.
- First response time: first_responded_at - created_at, calendar hours, over tickets in scope
  that have had a first response. Median and average.
- Resolution time: solved_at - created_at, calendar hours, over tickets in scope that are
  solved (or closed after being solved). Median and average.
- CSAT: of CSAT surveys sent in the range and answered, the percentage scoring 4 or 5 (0-100).
- CES: average effort answer (1 very easy ... 7 very difficult) of CES surveys sent in the
  range, mapped to 0-100 by (score - 1) / 6 * 100: 0 = no effort, 100 = greatest effort.
  Lower is better.
- Backlog: tickets unsolved now (new, open, pending, on hold), by age since creation.
- Volume by channel: tickets in scope per channel of origin.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from tickets.models import UNSOLVED_STATUSES, Ticket
from tickets.selectors import ticket_visibility_q

from .models import Survey, SurveyKind

KPI_DEFINITIONS: dict[str, str] = {
    "frt": "First response time: hours from the ticket's creation to the first agent reply "
    "(calendar time), over tickets created in the range that have a reply.",
    "resolution": "Resolution time: hours from creation to solved (calendar time), over tickets "
    "created in the range that are solved.",
    "csat": "CSAT: percentage of answered satisfaction surveys (1-5) scoring 4 or 5, surveys sent "
    "in the range.",
    "ces": "CES: average effort answer (1 very easy to 7 very difficult) mapped to 0-100 as "
    "(score - 1) / 6 x 100. Lower means less effort.",
    "backlog": "Backlog: tickets unsolved now (new, open, pending, on hold) by age since creation; "
    "dates are ignored.",
    "volume": "Volume: tickets created in the range, by channel of origin.",
}

# Backlog age buckets: (label, min age, max age or None).
BACKLOG_BUCKETS: list[tuple[str, dt.timedelta, dt.timedelta | None]] = [
    ("< 1 day", dt.timedelta(0), dt.timedelta(days=1)),
    ("1-3 days", dt.timedelta(days=1), dt.timedelta(days=3)),
    ("3-7 days", dt.timedelta(days=3), dt.timedelta(days=7)),
    ("> 7 days", dt.timedelta(days=7), None),
]


@dataclass(frozen=True)
class KpiFilters:
    date_from: dt.date
    date_to: dt.date
    team_id: int | None = None
    agent_id: int | None = None
    channel: str = ""
    priority: str = ""

    @property
    def start(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.date_from, dt.time.min))

    @property
    def end(self) -> dt.datetime:
        """Exclusive end: midnight after date_to."""
        return timezone.make_aware(dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time.min))


@dataclass
class DurationStats:
    count: int = 0
    median_hours: float | None = None
    average_hours: float | None = None


@dataclass
class KpiSummary:
    created: int = 0
    solved: int = 0
    frt: DurationStats = field(default_factory=DurationStats)
    resolution: DurationStats = field(default_factory=DurationStats)
    csat_answered: int = 0
    csat: float | None = None
    ces_answered: int = 0
    ces: float | None = None
    ces_average_score: float | None = None
    backlog: list[dict] = field(default_factory=list)
    backlog_total: int = 0


def _hours(value: dt.timedelta | None) -> float | None:
    return None if value is None else value.total_seconds() / 3600


def _scoped_tickets(*, user: AbstractBaseUser, filters: KpiFilters, dates: bool = True) -> QuerySet[Ticket]:
    qs = Ticket.objects.filter(ticket_visibility_q(user), merged_into__isnull=True)
    if dates:
        qs = qs.filter(created_at__gte=filters.start, created_at__lt=filters.end)
    if filters.team_id:
        qs = qs.filter(team_id=filters.team_id)
    if filters.agent_id:
        qs = qs.filter(assignee_id=filters.agent_id)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.priority:
        qs = qs.filter(priority=filters.priority)
    return qs


_FRT = ExpressionWrapper(F("first_responded_at") - F("created_at"), output_field=DurationField())
_RESOLUTION = ExpressionWrapper(F("solved_at") - F("created_at"), output_field=DurationField())


def _median(qs: QuerySet[Ticket], expression, count: int) -> dt.timedelta | None:
    """Median by ordering and reading the one or two middle rows: one query, two rows at most."""
    if not count:
        return None
    lo, hi = (count - 1) // 2, count // 2
    values = list(qs.annotate(d=expression).order_by("d").values_list("d", flat=True)[lo : hi + 1])
    return sum(values, dt.timedelta()) / len(values)


def kpi_summary(*, user: AbstractBaseUser, filters: KpiFilters, now: dt.datetime | None = None) -> KpiSummary:
    """Every tile of the dashboard in six queries."""
    now = now or timezone.now()
    scoped = _scoped_tickets(user=user, filters=filters)
    responded = scoped.filter(first_responded_at__isnull=False)
    solved = scoped.filter(solved_at__isnull=False)
    row = scoped.aggregate(
        created=Count("pk"),
        responded=Count("pk", filter=Q(first_responded_at__isnull=False)),
        solved=Count("pk", filter=Q(solved_at__isnull=False)),
        frt_avg=Avg(_FRT, filter=Q(first_responded_at__isnull=False)),
        res_avg=Avg(_RESOLUTION, filter=Q(solved_at__isnull=False)),
    )
    summary = KpiSummary(created=row["created"], solved=row["solved"])
    summary.frt = DurationStats(
        count=row["responded"],
        median_hours=_hours(_median(responded, _FRT, row["responded"])),
        average_hours=_hours(row["frt_avg"]),
    )
    summary.resolution = DurationStats(
        count=row["solved"],
        median_hours=_hours(_median(solved, _RESOLUTION, row["solved"])),
        average_hours=_hours(row["res_avg"]),
    )

    surveys = survey_scope(user=user, filters=filters)
    answered = Q(score__isnull=False)
    srow = surveys.aggregate(
        csat_answered=Count("pk", filter=answered & Q(kind=SurveyKind.CSAT)),
        csat_satisfied=Count("pk", filter=answered & Q(kind=SurveyKind.CSAT, score__gte=4)),
        ces_answered=Count("pk", filter=answered & Q(kind=SurveyKind.CES)),
        ces_avg=Avg("score", filter=answered & Q(kind=SurveyKind.CES)),
    )
    summary.csat_answered = srow["csat_answered"]
    if srow["csat_answered"]:
        summary.csat = 100 * srow["csat_satisfied"] / srow["csat_answered"]
    summary.ces_answered = srow["ces_answered"]
    if srow["ces_avg"] is not None:
        summary.ces_average_score = float(srow["ces_avg"])
        summary.ces = (summary.ces_average_score - 1) / 6 * 100

    unsolved = _scoped_tickets(user=user, filters=filters, dates=False).filter(status__in=UNSOLVED_STATUSES)
    counts = {}
    for i, (_label, low, high) in enumerate(BACKLOG_BUCKETS):
        condition = Q(created_at__lte=now - low)
        if high is not None:
            condition &= Q(created_at__gt=now - high)
        counts[f"b{i}"] = Count("pk", filter=condition)
    brow = unsolved.aggregate(**counts)
    for i, (label, low, high) in enumerate(BACKLOG_BUCKETS):
        summary.backlog.append(
            {
                "label": label,
                "count": brow[f"b{i}"],
                "created_after": None if high is None else now - high,
                "created_before": now - low,
            }
        )
    summary.backlog_total = sum(b["count"] for b in summary.backlog)
    return summary


def survey_scope(*, user: AbstractBaseUser, filters: KpiFilters) -> QuerySet[Survey]:
    """Surveys sent in the range; team, agent and channel as they were when sent."""
    qs = Survey.objects.filter(
        sent_at__gte=filters.start,
        sent_at__lt=filters.end,
        ticket__in=Ticket.objects.filter(ticket_visibility_q(user)).values("pk"),
    )
    if filters.team_id:
        qs = qs.filter(team_id=filters.team_id)
    if filters.agent_id:
        qs = qs.filter(agent_id=filters.agent_id)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.priority:
        qs = qs.filter(ticket__priority=filters.priority)
    return qs


def kpi_volume_by_channel(*, user: AbstractBaseUser, filters: KpiFilters) -> list[dict]:
    """[{channel, count}] for tickets in scope, busiest first: one query."""
    rows = (
        _scoped_tickets(user=user, filters=filters)
        .values("channel")
        .annotate(count=Count("pk"))
        .order_by("-count", "channel")
    )
    return list(rows)


def kpi_daily_trend(*, user: AbstractBaseUser, filters: KpiFilters) -> list[dict]:
    """[{day, created, solved}] for every day of the range (zeros included): two queries.
    `solved` counts tickets in scope by the day they were solved."""
    scoped = _scoped_tickets(user=user, filters=filters)
    created = dict(
        scoped.annotate(day=TruncDate("created_at")).values("day").annotate(n=Count("pk")).values_list("day", "n")
    )
    solved = dict(
        scoped.filter(solved_at__isnull=False, solved_at__lt=filters.end)
        .annotate(day=TruncDate("solved_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    days = (filters.date_to - filters.date_from).days + 1
    out = []
    for offset in range(max(days, 0)):
        day = filters.date_from + dt.timedelta(days=offset)
        out.append({"day": day, "created": created.get(day, 0), "solved": solved.get(day, 0)})
    return out
