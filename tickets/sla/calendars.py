"""Business-time arithmetic: pure Python, no database.

A `BusinessHours` value is a time zone, a weekly schedule of wall-clock intervals and a test
for days off. Rules, chosen so that every answer is exact and explainable:

- Intervals are wall-clock times in the calendar's zone. One whose end is at or before its
  start crosses midnight (Fri 22:00 - 06:00 ends Sat 06:00; 09:00 - 09:00 is 24 hours).
- Business time is real elapsed time. On the night clocks go forward an interval 22:00 -
  06:00 lasts 7 hours; on the night they go back it lasts 9.
- A wall time that does not exist (skipped by a forward change) stands for the moment of the
  change; a wall time that happens twice stands for its first occurrence.
- A holiday is a day off by local date: no business time falls on that date, including the
  part of a midnight-crossing interval that spills into it.
- `add_business_time(start, 0)` is `start` itself; a positive amount that ends exactly at
  the end of an interval ends there (17:00), not at the next opening.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

UTC = dt.UTC
DAY_MINUTES = 24 * 60
# A schedule that finds no business time in this many consecutive days is treated as empty.
MAX_IDLE_DAYS = 3 * 366

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class NoBusinessHours(ValueError):
    """The calendar has no business time to count (no intervals, or every day a holiday)."""


Piece = tuple[int, int]  # minutes from local midnight, 0 <= start < end <= 1440


def week_pieces(intervals: Iterable[tuple[int, dt.time, dt.time]]) -> tuple[tuple[Piece, ...], ...]:
    """Weekly intervals (weekday 0 = Monday, start, end) as sorted, merged pieces per
    weekday, each piece lying within its own local date."""
    days: list[list[Piece]] = [[] for _ in range(7)]
    for weekday, start, end in intervals:
        if not 0 <= weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {weekday}")
        s = start.hour * 60 + start.minute
        e = end.hour * 60 + end.minute
        if e > s:
            days[weekday].append((s, e))
        else:  # crosses midnight (or a whole 24 hours when e == s)
            days[weekday].append((s, DAY_MINUTES))
            if e > 0:
                days[(weekday + 1) % 7].append((0, e))
    return tuple(tuple(_merge(day)) for day in days)


def _merge(pieces: list[Piece]) -> list[Piece]:
    merged: list[list[int]] = []
    for s, e in sorted(pieces):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged if e > s]


@dataclass(frozen=True)
class BusinessHours:
    """A business-hours calendar ready for arithmetic. Build it with `BusinessHours.build`."""

    zone: ZoneInfo
    week: tuple[tuple[Piece, ...], ...]
    days_off: Container[dt.date] = field(default=frozenset())
    name: str = ""

    @classmethod
    def build(
        cls,
        *,
        time_zone: str,
        intervals: Iterable[tuple[int, dt.time, dt.time]],
        days_off: Container[dt.date] = frozenset(),
        name: str = "",
    ) -> BusinessHours:
        return cls(zone=ZoneInfo(time_zone), week=week_pieces(intervals), days_off=days_off, name=name)

    @property
    def time_zone(self) -> str:
        return self.zone.key

    def is_day_off(self, day: dt.date) -> bool:
        return day in self.days_off

    def day_intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The business intervals of one local date, as UTC instants."""
        if self.is_day_off(day):
            return []
        result = []
        for s, e in self.week[day.weekday()]:
            start = wall_to_utc(day, s, self.zone)
            end = wall_to_utc(day, e, self.zone)
            if end > start:
                result.append((start, end))
        return result

    def intervals_from(self, moment: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Business intervals from `moment` on, clipped to start no earlier than it."""
        _check_aware(moment)
        day = moment.astimezone(self.zone).date() - dt.timedelta(days=1)
        idle = 0
        while True:
            found = False
            for start, end in self.day_intervals(day):
                if end <= moment:
                    continue
                found = True
                yield max(start, moment), end
            idle = 0 if found else idle + 1
            if idle > MAX_IDLE_DAYS:
                raise NoBusinessHours(f"no business hours in {MAX_IDLE_DAYS} days after {moment.isoformat()}")
            day += dt.timedelta(days=1)

    def is_open(self, moment: dt.datetime) -> bool:
        _check_aware(moment)
        day = moment.astimezone(self.zone).date()
        for d in (day - dt.timedelta(days=1), day, day + dt.timedelta(days=1)):
            if any(s <= moment < e for s, e in self.day_intervals(d)):
                return True
        return False


def _check_aware(moment: dt.datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("business-time arithmetic needs time-zone-aware datetimes")


@lru_cache(maxsize=65536)
def wall_to_utc(day: dt.date, minute: int, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant of a local wall time (`minute` minutes after local midnight of `day`;
    1440 is the next midnight). Skipped times map to the moment of the change, repeated
    times to their first occurrence."""
    wall = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # In a gap: fold=0 and fold=1 give the instants either side of the change; find it.
    other = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = min(first, other), max(first, other)
    lo_offset = lo.astimezone(zone).utcoffset()
    while hi - lo > dt.timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).utcoffset() == lo_offset:
            lo = mid
        else:
            hi = mid
    return hi.replace(microsecond=0)


def add_business_duration(start: dt.datetime, amount: dt.timedelta, hours: BusinessHours | None) -> dt.datetime:
    """The instant when `amount` of business time has passed after `start`. With `hours`
    None every moment counts (calendar time)."""
    _check_aware(start)
    if amount < dt.timedelta(0):
        raise ValueError("cannot add a negative amount of business time")
    if hours is None:
        return start + amount
    if not amount:
        return start
    remaining = amount
    for s, e in hours.intervals_from(start):
        length = e - s
        if remaining <= length:
            return s + remaining
        remaining -= length
    raise AssertionError("unreachable: intervals_from never ends")  # pragma: no cover


def add_business_time(start: dt.datetime, minutes: float, hours: BusinessHours | None) -> dt.datetime:
    """`start` plus `minutes` minutes of business time."""
    return add_business_duration(start, dt.timedelta(minutes=minutes), hours)


def business_time_between(a: dt.datetime, b: dt.datetime, hours: BusinessHours | None) -> dt.timedelta:
    """Business time from `a` to `b` (negative when `b` is before `a`)."""
    _check_aware(a)
    _check_aware(b)
    if b < a:
        return -business_time_between(b, a, hours)
    if hours is None:
        return b - a
    total = dt.timedelta(0)
    if a == b:
        return total
    for s, e in hours.intervals_from(a):
        if s >= b:
            break
        total += min(e, b) - s
    return total


def business_minutes_between(a: dt.datetime, b: dt.datetime, hours: BusinessHours | None) -> float:
    """Minutes of business time from `a` to `b` (fractional when the instants are)."""
    return business_time_between(a, b, hours).total_seconds() / 60


def holiday_dates(country: str, subdivision: str = "") -> Container[dt.date]:
    """Public holidays of a country (and region) from the `holidays` package, expanding to
    whatever years are asked about."""
    import holidays

    return holidays.country_holidays(country, subdiv=subdivision or None)


@dataclass(frozen=True)
class DaysOff:
    """Holidays from the `holidays` package plus a calendar's own dates."""

    public: Container[dt.date] | None = None
    custom: frozenset[dt.date] = frozenset()

    def __contains__(self, day: object) -> bool:
        if day in self.custom:
            return True
        return self.public is not None and day in self.public
