"""Volume forecast and staffing.

Method (stated on the page): take the last `weeks` full weeks of tickets created. The weekly
totals W_1..W_n (oldest first) get a least-squares line W(i) = a + b i; the share of each
(weekday, hour) slot is its average count over those weeks divided by the average weekly
total. The forecast for a future hour in week i (counted from the first history week) is max(0, a + b i) x share(slot),
so the weekday x hour pattern repeats and the level follows the trend.

Staffing per hour uses Erlang C: with traffic A = tickets per hour x average handle time (in
hours) and N agents (N > A), the probability that a ticket waits is

    C(N, A) = (A^N / N!) (N / (N - A)) / ( sum_{k<N} A^k / k! + (A^N / N!) (N / (N - A)) )

and the service level, the share answered within T, is SL = 1 - C(N, A) e^{-(N - A) T / AHT}.
The agents needed are the smallest N whose SL reaches the target. C is computed through the
Erlang B recurrence B(0) = 1, B(k) = A B(k-1) / (k + A B(k-1)), C = N B / (N - A (1 - B)),
which never overflows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count
from django.db.models.functions import ExtractHour, TruncDate
from django.utils import timezone

from tickets.models import Ticket

MAX_AGENTS = 500


def erlang_c(agents: int, traffic: float) -> float:
    """Probability of waiting with `agents` servers and `traffic` Erlangs (1 when N <= A)."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    b = 1.0
    for k in range(1, agents + 1):
        b = traffic * b / (k + traffic * b)
    return agents * b / (agents - traffic * (1 - b))


def service_level(agents: int, traffic: float, aht_minutes: float, target_minutes: float) -> float:
    if traffic <= 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    return 1 - erlang_c(agents, traffic) * math.exp(-(agents - traffic) * target_minutes / aht_minutes)


def agents_needed(*, per_hour: float, aht_minutes: float, target_sl: float, target_minutes: float) -> int:
    """Smallest number of agents reaching `target_sl` (0-1) within `target_minutes`."""
    traffic = per_hour * aht_minutes / 60
    if traffic <= 0:
        return 0
    n = max(1, math.floor(traffic) + 1)
    while n < MAX_AGENTS and service_level(n, traffic, aht_minutes, target_minutes) < target_sl:
        n += 1
    return n


@dataclass
class ForecastHour:
    start: dt.datetime
    expected: float
    agents: int = 0


def history_weeks(*, weeks: int, now: dt.datetime) -> tuple[dt.date, list[dict]]:
    """(first day, rows of {day, hour, n}) of tickets created in the last `weeks` full weeks
    (ending the Monday of this week, local time): one query."""
    today = timezone.localtime(now).date()
    this_monday = today - dt.timedelta(days=today.weekday())
    start_day = this_monday - dt.timedelta(weeks=weeks)
    start = timezone.make_aware(dt.datetime.combine(start_day, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(this_monday, dt.time.min))
    rows = list(
        Ticket.objects.filter(created_at__gte=start, created_at__lt=end, merged_into__isnull=True)
        .annotate(day=TruncDate("created_at"), hour=ExtractHour("created_at"))
        .values("day", "hour")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return start_day, rows


def volume_forecast(
    *,
    days: int = 14,
    weeks: int = 8,
    now: dt.datetime | None = None,
    aht_minutes: float = 10,
    target_sl: float = 0.8,
    target_minutes: float = 30,
) -> dict:
    """Hourly forecast for the next `days` days from tomorrow (local), with agents needed."""
    now = now or timezone.now()
    start_day, rows = history_weeks(weeks=weeks, now=now)
    weekly = [0.0] * weeks
    slots: dict[tuple[int, int], float] = defaultdict(float)
    for r in rows:
        week = (r["day"] - start_day).days // 7
        if 0 <= week < weeks:
            weekly[week] += r["n"]
            slots[(r["day"].weekday(), r["hour"])] += r["n"]
    total = sum(weekly)
    mean_week = total / weeks if weeks else 0
    # Least squares over i = 0..n-1.
    n = len(weekly)
    xbar = (n - 1) / 2
    sxx = sum((i - xbar) ** 2 for i in range(n)) or 1
    b = sum((i - xbar) * (w - mean_week) for i, w in enumerate(weekly)) / sxx
    a = mean_week - b * xbar
    share = {k: (v / weeks) / mean_week for k, v in slots.items()} if mean_week else {}

    today = timezone.localtime(now).date()
    this_monday = today - dt.timedelta(days=today.weekday())
    hours: list[ForecastHour] = []
    daily: list[dict] = []
    for d in range(1, days + 1):
        day = today + dt.timedelta(days=d)
        week_pos = weeks + (day - this_monday).days // 7  # the trend line's level of that week
        level = max(0.0, a + b * week_pos)
        day_total = 0.0
        for hour in range(24):
            expected = level * share.get((day.weekday(), hour), 0.0)
            start = timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))
            hours.append(
                ForecastHour(
                    start=start,
                    expected=expected,
                    agents=agents_needed(
                        per_hour=expected, aht_minutes=aht_minutes, target_sl=target_sl, target_minutes=target_minutes
                    ),
                )
            )
            day_total += expected
        daily.append({"day": day, "expected": day_total, "peak_agents": max(h.agents for h in hours[-24:])})
    return {
        "weeks": weeks,
        "history_total": int(total),
        "weekly": weekly,
        "trend_per_week": b,
        "intercept": a,
        "hours": hours,
        "daily": daily,
    }
