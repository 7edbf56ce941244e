"""KPI reads for the manager dashboard, each with a written definition (KPI_DEFINITIONS).

Sums come from `rollups.rollup_sums`: the stored rollups (one row per day and filter value,
refreshed every few minutes, today included, for every combination of the filters) and the
same computation live for days after the last refresh or for a user who may not see every
ticket. Medians are the median of the rollups' duration histograms (within 4.5%), exact
(PostgreSQL's percentile over the range's tickets) when everything is computed live; the
backlog's newest tickets and the days around its age limits are a live indexed count. A dashboard is a fixed
handful of queries whatever the number of tickets.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Aggregate, Avg, Count, DurationField, ExpressionWrapper, F, FloatField, Func, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import UNSOLVED_STATUSES, Team, Ticket
from tickets.selectors import ticket_visibility_q

from .facts import day_bounds, histogram_median
from .models import LOWER_IS_BETTER, DailyRollup, Goal, QaReview, Survey
from .rollups import (
    hourly_sums,
    rollup_histograms,
    rollup_refreshed_at,
    rollup_stored_until,
    rollup_sums,
    rollup_unsolved_by_day,
)

KPI_DEFINITIONS: dict[str, str] = {
    "frt": _(
        "First response time: time from the ticket's creation to the first agent reply, over tickets created "
        "in the range that have a reply. Median and average in calendar hours; the business-hours average counts "
        "only the opening hours of the calendar of the ticket's SLA policy (calendar time when it has none). "
        "The median is read from a histogram of the times kept with the daily figures (buckets 9% wide): its "
        "error is below 4.5% (30 seconds under a minute)."
    ),
    "nrt": _(
        "Next response time: for every later agent reply, the time since the first customer message that "
        "was still waiting for it (calendar hours), averaged over tickets created in the range."
    ),
    "resolution": _(
        "Resolution time: time from creation to solved, over tickets created in the range that are solved or "
        "closed now. Calendar hours (median and average), and an average in business hours of the SLA "
        "calendar that also leaves out time spent pending or on hold. The median is read from a histogram of "
        "the times, like the first response median: error below 4.5%."
    ),
    "reopen": _(
        "Reopen rate: share of the solved tickets created in the range that were reopened at least once "
        "(a survey answer by text message does not count as a reopen)."
    ),
    "fcr": _(
        "First-contact resolution: share of the solved tickets created in the range that were solved with a "
        "single agent reply and never reopened."
    ),
    "sla": _(
        "SLA attainment: of the SLA targets that ended for tickets created in the range (every response "
        "cycle counts), the share fulfilled before breaching: met / (met + breached), from the SLA ledger."
    ),
    "csat": _("CSAT: percentage of answered satisfaction surveys (1-5) scoring 4 or 5, surveys issued in the range."),
    "ces": _(
        "CES: average effort answer (1 very easy to 7 very difficult) mapped to 0-100 as (score - 1) / 6 x 100. "
        "Lower means less effort."
    ),
    "nps": _("NPS: percentage of promoters (9-10) minus percentage of detractors (0-6) of answered 0-10 surveys."),
    "backlog": _(
        "Backlog: tickets unsolved (new, open, pending, on hold) by age since creation; dates are ignored. "
        "As of the last refresh of the figures, except tickets created since then and on the days around each "
        "age limit, which are counted live."
    ),
    "volume": _(
        "Volume: tickets created in the range by channel of origin, by weekday and by hour of the day "
        "(server time zone); solved counts tickets solved on each day."
    ),
    "agents": _(
        "Agent performance: per assignee, tickets solved in the range, average first response and resolution "
        "time of their tickets created in the range, CSAT of surveys about them, and the average QA review score "
        "(0-100) of reviews made in the range."
    ),
}

# Backlog age buckets: (label, min age, max age or None).
BACKLOG_BUCKETS: list[tuple[str, dt.timedelta, dt.timedelta | None]] = [
    (_("< 1 day"), dt.timedelta(0), dt.timedelta(days=1)),
    (_("1-3 days"), dt.timedelta(days=1), dt.timedelta(days=3)),
    (_("3-7 days"), dt.timedelta(days=3), dt.timedelta(days=7)),
    (_("> 7 days"), dt.timedelta(days=7), None),
]


@dataclass(frozen=True)
class KpiFilters:
    date_from: dt.date
    date_to: dt.date
    team_id: int | None = None
    agent_id: int | None = None
    channel: str = ""
    priority: str = ""
    tag: str = ""

    @property
    def start(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.date_from, dt.time.min))

    @property
    def end(self) -> dt.datetime:
        """Exclusive end: midnight after date_to."""
        return timezone.make_aware(dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time.min))

    @property
    def dims(self) -> dict:
        return {"team_id": self.team_id, "agent_id": self.agent_id, "channel": self.channel, "priority": self.priority}


@dataclass
class DurationStats:
    count: int = 0
    median_hours: float | None = None
    average_hours: float | None = None
    business_average_hours: float | None = None


@dataclass
class KpiSummary:
    created: int = 0
    solved: int = 0
    resolved: int = 0
    frt: DurationStats = field(default_factory=DurationStats)
    nrt: DurationStats = field(default_factory=DurationStats)
    resolution: DurationStats = field(default_factory=DurationStats)
    reopened: int = 0
    reopen_rate: float | None = None
    one_touch: int = 0
    fcr: float | None = None
    sla_met: int = 0
    sla_missed: int = 0
    sla: float | None = None
    csat_answered: int = 0
    csat: float | None = None
    ces_answered: int = 0
    ces: float | None = None
    ces_average_score: float | None = None
    nps_answered: int = 0
    nps: float | None = None
    backlog: list[dict] = field(default_factory=list)
    backlog_total: int = 0
    medians_sampled: bool = False

    def value(self, kpi: str) -> float | None:
        """The headline number of a KPI, as goals compare it."""
        return {
            "frt": self.frt.average_hours,
            "nrt": self.nrt.average_hours,
            "resolution": self.resolution.average_hours,
            "resolution_business": self.resolution.business_average_hours,
            "reopen": self.reopen_rate,
            "fcr": self.fcr,
            "sla": self.sla,
            "csat": self.csat,
            "ces": self.ces,
            "nps": self.nps,
            "backlog": float(self.backlog_total),
        }.get(kpi)


def _ratio(part: float, whole: float, scale: float = 1.0) -> float | None:
    return scale * part / whole if whole else None


def _live_q(user: AbstractBaseUser, filters: KpiFilters) -> tuple[Q | None, Q | None]:
    """Extra conditions rollups cannot answer (a user who may not see every ticket): (tickets
    condition, surveys condition), or (None, None) when rollups serve (every combination of
    the filters, a tag included: see _tag_id)."""
    visibility = ticket_visibility_q(user)
    if not visibility:
        return None, None
    tq, sq = Q(visibility), Q(ticket__in=Ticket.objects.filter(visibility).values("pk"))
    if filters.tag:
        tq &= Q(tags__name=filters.tag.strip().lower())
        sq &= Q(ticket__tags__name=filters.tag.strip().lower())
    return tq, sq


def _tag_id(filters: KpiFilters, cache: dict | None) -> int | None:
    """The tag filter as a tag id for the tag rollups (-1: no such tag), None without one."""
    if not filters.tag:
        return None
    key = ("tag", filters.tag)
    if cache is not None and key in cache:
        return cache[key]
    from tickets.models import Tag

    tag_id = Tag.objects.filter(name=filters.tag.strip().lower()).values_list("pk", flat=True).first() or -1
    if cache is not None:
        cache[key] = tag_id
    return tag_id


def kpi_sums(
    *,
    user: AbstractBaseUser,
    filters: KpiFilters,
    by: tuple[str, ...] = (),
    cache: dict | None = None,
    fields: tuple[str, ...] | None = None,
) -> dict[tuple, Counter]:
    tq, sq = _live_q(user, filters)
    return rollup_sums(
        cache=cache,
        fields=fields,
        day_from=filters.date_from,
        day_to=filters.date_to,
        dims=filters.dims,
        by=by,
        tag_id=_tag_id(filters, cache) if tq is None else None,
        live_tickets_q=tq,
        live_surveys_q=sq,
    )


def summary_from_sums(s: Counter) -> KpiSummary:
    """Headline KPIs from rollup sums (seconds in, hours out)."""
    h = 3600.0
    out = KpiSummary(created=s["created"], solved=s["solved"], resolved=s["resolved"])
    out.frt = DurationStats(
        count=s["responded"],
        average_hours=_ratio(s["frt_sum"], s["responded"] * h),
        business_average_hours=_ratio(s["frt_business_sum"], s["responded"] * h),
    )
    out.nrt = DurationStats(count=s["nrt_count"], average_hours=_ratio(s["nrt_sum"], s["nrt_count"] * h))
    out.resolution = DurationStats(
        count=s["resolved"],
        average_hours=_ratio(s["resolution_sum"], s["resolved"] * h),
        business_average_hours=_ratio(s["resolution_business_sum"], s["resolved"] * h),
    )
    out.reopened, out.one_touch = s["reopened"], s["one_touch"]
    out.reopen_rate = _ratio(s["reopened"], s["resolved"], 100)
    out.fcr = _ratio(s["one_touch"], s["resolved"], 100)
    out.sla_met, out.sla_missed = s["sla_met"], s["sla_missed"]
    out.sla = _ratio(s["sla_met"], s["sla_met"] + s["sla_missed"], 100)
    out.csat_answered = s["csat_answered"]
    out.csat = _ratio(s["csat_satisfied"], s["csat_answered"], 100)
    out.ces_answered = s["ces_answered"]
    if s["ces_answered"]:
        out.ces_average_score = s["ces_sum"] / s["ces_answered"]
        out.ces = (out.ces_average_score - 1) / 6 * 100
    out.nps_answered = s["nps_answered"]
    if s["nps_answered"]:
        out.nps = 100 * (s["nps_promoters"] - s["nps_detractors"]) / s["nps_answered"]
    return out


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
    if filters.tag:
        qs = qs.filter(tags__name=filters.tag.strip().lower())
    return qs


_FRT = ExpressionWrapper(F("first_responded_at") - F("created_at"), output_field=DurationField())
_RESOLUTION = ExpressionWrapper(F("solved_at") - F("created_at"), output_field=DurationField())


def _median_hours(qs: QuerySet[Ticket], expression, count: int) -> float | None:
    """Median by ordering and reading the one or two middle rows: one query, two rows at most."""
    if not count:
        return None
    lo, hi = (count - 1) // 2, count // 2
    values = list(qs.annotate(d=expression).order_by("d").values_list("d", flat=True)[lo : hi + 1])
    if not values:
        return None
    return (sum(values, dt.timedelta()) / len(values)).total_seconds() / 3600


def median_exact_rows() -> int:
    """With rollups built, medians come from their histograms unless the range holds at most
    this many tickets with the duration (setting METRICS_MEDIAN_EXACT_ROWS, default 0: always
    the histograms; an exact median queries the tickets, which at a million tickets takes
    hundreds of milliseconds for some filters whatever their count). Without rollups (or for a
    user who may not see every ticket) every figure is computed from the tickets and medians
    are exact."""
    return int(getattr(settings, "METRICS_MEDIAN_EXACT_ROWS", 0))


def kpi_medians(
    *, user: AbstractBaseUser, filters: KpiFilters, counts: tuple[int, int], cache: dict | None = None
) -> tuple[float | None, float | None, bool]:
    """(first response median hours, resolution median hours, estimated?). From the rollups'
    histograms (within HIST_ERROR, see KPI_DEFINITIONS) when rollups are built, unless the range
    holds at most median_exact_rows() tickets with that duration; else exact (the database's
    percentile over the range's tickets). `counts`: (responded, resolved) in scope."""
    tq, sq = _live_q(user, filters)
    if tq is not None or rollup_stored_until(cache) is None:
        exact = [True, True]  # everything is computed from the tickets: so are the medians
    else:
        limit = median_exact_rows()
        exact = [counts[0] <= limit, counts[1] <= limit]
    hours: list[float | None] = [None, None]
    if not all(exact):
        frt_hist, res_hist = rollup_histograms(
            day_from=filters.date_from,
            day_to=filters.date_to,
            dims=filters.dims,
            tag_id=_tag_id(filters, cache) if tq is None else None,
            live_tickets_q=tq,
            live_surveys_q=sq,
            cache=cache,
        )
        for i, hist in enumerate((frt_hist, res_hist)):
            if not exact[i]:
                seconds = histogram_median(hist)
                hours[i] = None if seconds is None else seconds / 3600
    frt_q = Q(first_responded_at__isnull=False)
    res_q = Q(solved_at__isnull=False, status__in=("solved", "closed"))
    wanted = [(i, q, e) for i, (q, e) in enumerate(((frt_q, _FRT), (res_q, _RESOLUTION))) if exact[i] and counts[i]]
    if wanted:
        scoped = _scoped_tickets(user=user, filters=filters)
        if connection.vendor == "postgresql":
            # The exact medians in one query, sorted by the database (no rows come back).
            row = scoped.aggregate(**{f"m{i}": _Median(_epoch(e), filter=q) for i, q, e in wanted})
            for i, _q, _e in wanted:
                hours[i] = None if row[f"m{i}"] is None else row[f"m{i}"] / 3600
        else:
            for i, q, e in wanted:
                hours[i] = _median_hours(scoped.filter(q), e, counts[i])
    return hours[0], hours[1], not all(exact)


class _Median(Aggregate):
    """PostgreSQL's exact median (the mean of the two middle values for an even count)."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _epoch(expression) -> Func:
    return Func(expression, template="EXTRACT(EPOCH FROM %(expressions)s)", output_field=FloatField())


def _pure_bucket(start: dt.datetime, end: dt.datetime, now: dt.datetime) -> int | None:
    """The backlog bucket every ticket created in [start, end) falls in now, or None when the
    interval straddles an age limit."""
    for i, (_label, low, high) in enumerate(BACKLOG_BUCKETS):
        if (high is None or start > now - high) and end <= now - low:
            return i
    return None


def kpi_backlog(
    *, user: AbstractBaseUser, filters: KpiFilters, now: dt.datetime, cache: dict | None = None
) -> list[dict]:
    """Unsolved tickets now by age. Days of the rollups that lie wholly in one age bucket come
    from their `unsolved` counts (as of the last refresh, one indexed read); the tickets created
    since the last refresh, on the few days that straddle an age limit (about 1, 3 and 7 days
    ago) and before the rollups are counted live, through the unsolved tickets' creation-time
    index."""
    tq, _sq = _live_q(user, filters)
    if filters.tag and tq is None:
        # The tag as a semi-join probed per unsolved ticket of the counted days (a few
        # thousand), not a join from every ticket with the tag (a common tag is on 175,000).
        from django.db.models import Exists, OuterRef

        without_tag = KpiFilters(**{**filters.__dict__, "tag": ""})
        tagged = Ticket.tags.through.objects.filter(ticket_id=OuterRef("pk"), tag_id=_tag_id(filters, cache))
        unsolved = _scoped_tickets(user=user, filters=without_tag, dates=False).filter(Exists(tagged))
    else:
        unsolved = _scoped_tickets(user=user, filters=filters, dates=False)
    unsolved = unsolved.filter(status__in=UNSOLVED_STATUSES)
    stored_counts = [0] * len(BACKLOG_BUCKETS)
    watermark = rollup_refreshed_at(cache)
    if tq is None and watermark is not None:
        stored_until = rollup_stored_until(cache)
        first_day = cache.get("first_day") if cache is not None else None
        if first_day is None:
            first_day = DailyRollup.objects.filter(gset=0).order_by("day").values_list("day", flat=True).first()
            if cache is not None:
                cache["first_day"] = first_day
        if first_day is not None and first_day <= stored_until:
            live = Q(created_at__gte=watermark) | Q(created_at__lt=day_bounds(first_day, first_day)[0])
            pure: dict[dt.date, int] = {}
            day = first_day
            while day <= stored_until:
                start, end = day_bounds(day, day)
                bucket = _pure_bucket(start, min(end, watermark), now)
                if bucket is None:
                    live |= Q(created_at__gte=start, created_at__lt=min(end, watermark))
                else:
                    pure[day] = bucket
                day += dt.timedelta(days=1)
            by_day = rollup_unsolved_by_day(
                day_from=first_day, day_to=stored_until, dims=filters.dims, tag_id=_tag_id(filters, cache)
            )
            for d, n in by_day.items():
                if d in pure:
                    stored_counts[pure[d]] += n
            unsolved = unsolved.filter(live)
    counts = {}
    for i, (_label, low, high) in enumerate(BACKLOG_BUCKETS):
        condition = Q(created_at__lte=now - low)
        if high is not None:
            condition &= Q(created_at__gt=now - high)
        # A tag filter is one name: no ticket is joined twice, so no DISTINCT (unless a
        # visibility condition joins more).
        counts[f"b{i}"] = Count("pk", filter=condition, distinct=tq is not None)
    row = unsolved.aggregate(**counts)
    return [
        {
            "label": label,
            "count": row[f"b{i}"] + stored_counts[i],
            "created_after": None if high is None else now - high,
            "created_before": now - low,
        }
        for i, (label, low, high) in enumerate(BACKLOG_BUCKETS)
    ]


def kpi_summary(
    *, user: AbstractBaseUser, filters: KpiFilters, now: dt.datetime | None = None, cache: dict | None = None
) -> KpiSummary:
    """Every tile of the dashboard."""
    now = now or timezone.now()
    summary = summary_from_sums(kpi_sums(user=user, filters=filters, cache=cache).get((), Counter()))
    summary.frt.median_hours, summary.resolution.median_hours, summary.medians_sampled = kpi_medians(
        user=user, filters=filters, counts=(summary.frt.count, summary.resolution.count), cache=cache
    )
    summary.backlog = kpi_backlog(user=user, filters=filters, now=now, cache=cache)
    summary.backlog_total = sum(b["count"] for b in summary.backlog)
    return summary


def survey_scope(*, user: AbstractBaseUser, filters: KpiFilters) -> QuerySet[Survey]:
    """Surveys issued in the range; team, agent and channel as they were when issued."""
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
    if filters.tag:
        qs = qs.filter(ticket__tags__name=filters.tag.strip().lower())
    return qs


def kpi_volume_by_channel(*, user: AbstractBaseUser, filters: KpiFilters, cache: dict | None = None) -> list[dict]:
    """[{channel, count}] of tickets created in scope, busiest first."""
    sums = kpi_sums(user=user, filters=filters, by=("channel",), cache=cache, fields=("created",))
    rows = [{"channel": k[0], "count": v["created"]} for k, v in sums.items() if v["created"]]
    return sorted(rows, key=lambda r: (-r["count"], r["channel"]))


def kpi_daily_trend(*, user: AbstractBaseUser, filters: KpiFilters, cache: dict | None = None) -> list[dict]:
    """[{day, created, solved}] for every day of the range (zeros included)."""
    sums = kpi_sums(user=user, filters=filters, by=("day",), cache=cache)
    out = []
    for offset in range((filters.date_to - filters.date_from).days + 1):
        day = filters.date_from + dt.timedelta(days=offset)
        s = sums.get((day,), Counter())
        out.append({"day": day, "created": s["created"], "solved": s["solved"]})
    return out


def kpi_volume_by_weekday_hour(
    *, user: AbstractBaseUser, filters: KpiFilters, cache: dict | None = None
) -> dict[tuple[int, int], int]:
    """{(ISO weekday 1-7, hour 0-23): tickets created} over the range."""
    tq, sq = _live_q(user, filters)
    return hourly_sums(
        day_from=filters.date_from,
        day_to=filters.date_to,
        dims=filters.dims,
        tag_id=_tag_id(filters, cache) if tq is None else None,
        live_tickets_q=tq,
        live_surveys_q=sq,
        cache=cache,
    )


# The sums the agents table shows (solved, averages, FCR, CSAT).
AGENT_FIELDS = (
    "created",
    "solved",
    "responded",
    "frt_sum",
    "nrt_count",
    "nrt_sum",
    "resolved",
    "resolution_sum",
    "one_touch",
    "csat_answered",
    "csat_satisfied",
)


def kpi_agents(*, user: AbstractBaseUser, filters: KpiFilters, cache: dict | None = None) -> list[dict]:
    """One row per agent with tickets or reviews in scope: solved, response and resolution
    averages, CSAT and QA score. Two queries plus the sums."""
    sums = kpi_sums(user=user, filters=filters, by=("agent_id",), cache=cache, fields=AGENT_FIELDS)
    qa: dict[int, float] = {}
    qa_counts: dict[int, int] = {}
    for agent_id, avg, n in (
        QaReview.objects.filter(created_at__gte=filters.start, created_at__lt=filters.end)
        .filter(**({"agent_id": filters.agent_id} if filters.agent_id else {}))
        .values("agent_id")
        .annotate(avg=Avg("score"), n=Count("pk"))
        .values_list("agent_id", "avg", "n")
        .order_by()
    ):
        qa[agent_id], qa_counts[agent_id] = avg, n
    ids = {k[0] for k in sums if k[0]} | set(qa)
    names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))
    rows = []
    for agent_id in sorted(ids, key=lambda i: names.get(i, "")):
        s = summary_from_sums(sums.get((agent_id,), Counter()))
        rows.append(
            {
                "agent_id": agent_id,
                "agent": names.get(agent_id, str(agent_id)),
                "solved": s.solved,
                "created": s.created,
                "frt_hours": s.frt.average_hours,
                "nrt_hours": s.nrt.average_hours,
                "resolution_hours": s.resolution.average_hours,
                "fcr": s.fcr,
                "csat": s.csat,
                "csat_answered": s.csat_answered,
                "qa": qa.get(agent_id),
                "qa_reviews": qa_counts.get(agent_id, 0),
            }
        )
    return rows


def kpi_goals(*, summary: KpiSummary, filters: KpiFilters) -> dict[str, dict]:
    """{kpi: {goal, value, status}} for the active goals of the chosen team (or of no team).
    Status: met, at_risk (worse than the target by at most at_risk_percent of it), missed, or
    no_data."""
    goals = Goal.objects.filter(is_active=True, team_id=filters.team_id)
    out = {}
    for goal in goals:
        value = summary.value(goal.kpi)
        out[goal.kpi] = {"goal": goal, "value": value, "status": goal_status(goal, value)}
    return out


def goal_status(goal: Goal, value: float | None) -> str:
    if value is None:
        return "no_data"
    lower = goal.kpi in LOWER_IS_BETTER
    gap = (value - goal.target) if lower else (goal.target - value)
    if gap <= 0:
        return "met"
    if gap <= abs(goal.target) * goal.at_risk_percent / 100:
        return "at_risk"
    return "missed"


def team_names() -> dict[int, str]:
    return dict(Team.objects.values_list("pk", "name"))


DRILLDOWN_KPIS: dict[str, str] = {
    "created": _("Tickets created"),
    "responded": _("Tickets with a first response"),
    "nrt": _("Tickets with next responses"),
    "resolved": _("Tickets created and solved"),
    "solved": _("Tickets solved"),
    "reopened": _("Solved tickets reopened at least once"),
    "one_touch": _("Solved with one agent reply, never reopened"),
    "sla_met": _("Tickets with SLA targets met"),
    "sla_missed": _("Tickets with an SLA target breached"),
    "csat": _("Tickets with a CSAT answer"),
    "ces": _("Tickets with a CES answer"),
    "nps": _("Tickets with an NPS answer"),
}


def drilldown_tickets(
    *,
    user: AbstractBaseUser,
    filters: KpiFilters,
    kpi: str,
    day: dt.date | None = None,
    weekday: int | None = None,
    hour: int | None = None,
) -> QuerySet[Ticket]:
    """The tickets behind a dashboard number, by the same definitions as KPI_DEFINITIONS."""
    from django.db.models import Exists, OuterRef, Subquery
    from django.db.models.functions import Coalesce, ExtractHour, ExtractIsoWeekDay

    from tickets.models import AuthorKind, Event, Message, MessageDirection
    from tickets.models_sla import SlaLedgerEntry

    if kpi not in DRILLDOWN_KPIS:
        raise ValueError(kpi)
    if day is not None:
        filters = KpiFilters(**{**filters.__dict__, "date_from": day, "date_to": day})
    if kpi == "solved":
        qs = _scoped_tickets(user=user, filters=filters, dates=False).filter(
            solved_at__gte=filters.start, solved_at__lt=filters.end, status__in=("solved", "closed")
        )
    elif kpi in ("csat", "ces", "nps"):
        surveys = survey_scope(user=user, filters=filters).filter(kind=kpi, score__isnull=False)
        qs = Ticket.objects.filter(pk__in=surveys.values("ticket_id"))
    else:
        qs = _scoped_tickets(user=user, filters=filters)
    if weekday is not None:
        qs = qs.annotate(_wd=ExtractIsoWeekDay("created_at")).filter(_wd=weekday)
    if hour is not None:
        qs = qs.annotate(_h=ExtractHour("created_at")).filter(_h=hour)
    solved_now = Q(solved_at__isnull=False, status__in=("solved", "closed"))

    def count_of(model_qs, **kw):
        return Coalesce(Subquery(model_qs.filter(**kw).values("ticket_id").annotate(n=Count("pk")).values("n")[:1]), 0)

    reopens = count_of(Event.objects.filter(ticket_id=OuterRef("pk")), verb="reopened") - count_of(
        Event.objects.filter(ticket_id=OuterRef("pk")), verb="survey_reply_resolved"
    )
    if kpi == "responded":
        qs = qs.filter(first_responded_at__isnull=False)
    elif kpi == "nrt":
        replies = count_of(
            Message.objects.filter(ticket_id=OuterRef("pk")),
            direction=MessageDirection.OUTBOUND,
            author_kind=AuthorKind.AGENT,
            is_internal=False,
        )
        qs = qs.annotate(_replies=replies).filter(_replies__gte=2)
    elif kpi == "resolved":
        qs = qs.filter(solved_now)
    elif kpi == "reopened":
        qs = qs.filter(solved_now).annotate(_reopens=reopens).filter(_reopens__gt=0)
    elif kpi == "one_touch":
        replies = count_of(
            Message.objects.filter(ticket_id=OuterRef("pk")),
            direction=MessageDirection.OUTBOUND,
            author_kind=AuthorKind.AGENT,
            is_internal=False,
        )
        qs = qs.filter(solved_now).annotate(_replies=replies, _reopens=reopens).filter(_replies=1, _reopens=0)
    elif kpi == "sla_missed":
        qs = qs.filter(Exists(SlaLedgerEntry.objects.filter(ticket_id=OuterRef("pk"), kind="breached")))
    elif kpi == "sla_met":
        qs = qs.filter(Exists(SlaLedgerEntry.objects.filter(ticket_id=OuterRef("pk"), kind="fulfilled")))
    return qs.select_related("requester", "assignee", "team").order_by("-created_at", "-pk")
