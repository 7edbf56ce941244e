"""Business-time arithmetic: weekends, holidays, midnight-crossing intervals and daylight
saving changes in both directions, checked by hand and against a minute-by-minute count."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets.sla.calendars import (
    BusinessHours,
    DaysOff,
    NoBusinessHours,
    add_business_time,
    business_minutes_between,
    wall_to_utc,
    week_pieces,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
T = dt.time


def office(zone: str, days_off=frozenset()) -> BusinessHours:
    """Monday to Friday, 09:00-17:00."""
    return BusinessHours.build(time_zone=zone, intervals=[(d, T(9), T(17)) for d in range(5)], days_off=days_off)


def around_the_clock(zone: str) -> BusinessHours:
    return BusinessHours.build(time_zone=zone, intervals=[(d, T(0), T(0)) for d in range(7)])


def night_shift(zone: str, days_off=frozenset()) -> BusinessHours:
    """Every night 22:00 - 06:00 (each interval crosses midnight)."""
    return BusinessHours.build(time_zone=zone, intervals=[(d, T(22), T(6)) for d in range(7)], days_off=days_off)


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone, fold=fold)


def test_midnight_crossing_interval_is_split_onto_both_days():
    pieces = week_pieces([(4, T(22), T(6)), (0, T(9), T(12)), (0, T(11), T(17)), (6, T(20), T(0))])
    assert pieces[4] == ((22 * 60, 1440),)  # Friday 22:00 - midnight
    assert pieces[5] == ((0, 6 * 60),)  # Saturday 00:00 - 06:00
    assert pieces[0] == ((9 * 60, 17 * 60),)  # overlapping Monday intervals merged
    assert pieces[6] == ((20 * 60, 1440),)  # ending at 00:00 means until midnight


def test_friday_night_shift_runs_into_saturday():
    hours = BusinessHours.build(time_zone="Europe/London", intervals=[(4, T(22), T(6))])
    fri = local(LONDON, 2025, 6, 6, 21, 0)  # a Friday
    assert add_business_time(fri, 60, hours) == local(LONDON, 2025, 6, 6, 23, 0)
    assert add_business_time(fri, 5 * 60, hours) == local(LONDON, 2025, 6, 7, 3, 0)
    # 8 hours a week: the 9th hour is next Friday night
    assert add_business_time(fri, 9 * 60, hours) == local(LONDON, 2025, 6, 13, 23, 0)
    assert business_minutes_between(fri, local(LONDON, 2025, 6, 7, 12, 0), hours) == 8 * 60


def test_weekend_is_skipped():
    hours = office("Europe/London")
    friday_4pm = local(LONDON, 2025, 6, 6, 16, 0)
    assert add_business_time(friday_4pm, 120, hours) == local(LONDON, 2025, 6, 9, 10, 0)
    assert business_minutes_between(friday_4pm, local(LONDON, 2025, 6, 9, 10, 0), hours) == 120


def test_adding_lands_on_closing_time_not_next_opening():
    hours = office("Europe/London")
    assert add_business_time(local(LONDON, 2025, 6, 9, 9, 0), 480, hours) == local(LONDON, 2025, 6, 9, 17, 0)


def test_start_outside_hours_begins_at_next_opening():
    hours = office("Europe/London")
    saturday = local(LONDON, 2025, 6, 7, 12, 0)
    assert add_business_time(saturday, 30, hours) == local(LONDON, 2025, 6, 9, 9, 30)
    assert add_business_time(saturday, 0, hours) == saturday


def test_public_holidays_of_a_country_and_region():
    # Easter Monday 2025 (21 April) is a bank holiday in England; 2 January only in Scotland.
    england = office("Europe/London", DaysOff(public=holidays.country_holidays("GB", subdiv="ENG")))
    scotland = office("Europe/London", DaysOff(public=holidays.country_holidays("GB", subdiv="SCT")))
    maundy_thursday_4pm = local(LONDON, 2025, 4, 17, 16, 0)  # Good Friday 18 April is off in both
    assert add_business_time(maundy_thursday_4pm, 120, england) == local(LONDON, 2025, 4, 22, 10, 0)
    new_year_eve = local(LONDON, 2024, 12, 31, 16, 0)
    assert add_business_time(new_year_eve, 120, england) == local(LONDON, 2025, 1, 2, 10, 0)
    assert add_business_time(new_year_eve, 120, scotland) == local(LONDON, 2025, 1, 3, 10, 0)


def test_brazilian_holidays_in_sao_paulo():
    # Good Friday (18 April 2025) and Tiradentes (Monday 21 April) are national holidays;
    # 9 July is a holiday in the state of São Paulo only.
    sp = ZoneInfo("America/Sao_Paulo")
    hours = office("America/Sao_Paulo", DaysOff(public=holidays.country_holidays("BR", subdiv="SP")))
    assert add_business_time(local(sp, 2025, 4, 17, 16, 0), 120, hours) == local(sp, 2025, 4, 22, 10, 0)
    assert add_business_time(local(sp, 2025, 7, 8, 16, 0), 120, hours) == local(sp, 2025, 7, 10, 10, 0)


def test_custom_days_off():
    hours = office("Europe/London", DaysOff(custom=frozenset({dt.date(2025, 6, 10)})))
    assert add_business_time(local(LONDON, 2025, 6, 9, 16, 0), 120, hours) == local(LONDON, 2025, 6, 11, 10, 0)


def test_holiday_removes_the_part_of_a_night_shift_that_falls_on_it():
    hours = night_shift("Europe/London", DaysOff(custom=frozenset({dt.date(2025, 6, 10)})))
    # Monday night 22:00-24:00 counts; Tuesday (the holiday) 00:00-06:00 and 22:00-24:00 do not.
    monday_10pm = local(LONDON, 2025, 6, 9, 22, 0)
    assert business_minutes_between(monday_10pm, local(LONDON, 2025, 6, 11, 7, 0), hours) == 120 + 360
    assert add_business_time(monday_10pm, 180, hours) == local(LONDON, 2025, 6, 11, 1, 0)


@pytest.mark.parametrize(
    ("zone", "day", "hours_in_day"),
    [
        ("Europe/London", dt.date(2025, 3, 30), 23),
        ("Europe/London", dt.date(2025, 10, 26), 25),
        ("America/New_York", dt.date(2025, 3, 9), 23),
        ("America/New_York", dt.date(2025, 11, 2), 25),
    ],
)
def test_a_day_around_the_clock_lasts_what_the_clocks_say(zone, day, hours_in_day):
    hours = around_the_clock(zone)
    z = ZoneInfo(zone)
    midnight = dt.datetime.combine(day, T(0), tzinfo=z)
    next_midnight = dt.datetime.combine(day + dt.timedelta(days=1), T(0), tzinfo=z)
    assert business_minutes_between(midnight, next_midnight, hours) == hours_in_day * 60
    assert add_business_time(midnight, hours_in_day * 60, hours) == next_midnight


def test_night_shift_is_shorter_when_clocks_go_forward_and_longer_when_they_go_back():
    hours = night_shift("Europe/London")
    spring = local(LONDON, 2025, 3, 29, 22, 0)  # Saturday night; 01:00 -> 02:00 on Sunday
    autumn = local(LONDON, 2025, 10, 25, 22, 0)  # Saturday night; 02:00 -> 01:00 on Sunday
    assert business_minutes_between(spring, local(LONDON, 2025, 3, 30, 6, 0), hours) == 7 * 60
    assert business_minutes_between(autumn, local(LONDON, 2025, 10, 26, 6, 0), hours) == 9 * 60
    # 5 hours after 22:00: the skipped hour is not counted ...
    assert add_business_time(spring, 5 * 60, hours) == local(LONDON, 2025, 3, 30, 4, 0)
    # ... and the repeated hour is counted twice: 01:00 BST, 01:00 GMT, then 02:00 GMT.
    # (Compared in UTC: Python never finds a fold=1 time equal to one in another zone.)
    second_one_am = local(LONDON, 2025, 10, 26, 1, 0, fold=1).astimezone(dt.UTC)
    assert second_one_am == dt.datetime(2025, 10, 26, 1, 0, tzinfo=dt.UTC)
    assert add_business_time(autumn, 4 * 60, hours) == second_one_am
    assert add_business_time(autumn, 5 * 60, hours) == local(LONDON, 2025, 10, 26, 2, 0)


def test_office_hours_keep_their_wall_clock_times_across_dst_in_new_york():
    hours = office("America/New_York")
    friday = local(NEW_YORK, 2025, 3, 7, 16, 0)  # EST; Monday is EDT
    due = add_business_time(friday, 120, hours)
    assert due == local(NEW_YORK, 2025, 3, 10, 10, 0)
    assert due.astimezone(dt.UTC).hour == 14  # 10:00 EDT, not 10:00 EST (15:00 UTC)
    friday = local(NEW_YORK, 2025, 10, 31, 16, 0)  # EDT; Monday is EST
    assert add_business_time(friday, 120, hours) == local(NEW_YORK, 2025, 11, 3, 10, 0)
    assert business_minutes_between(friday, local(NEW_YORK, 2025, 11, 3, 10, 0), hours) == 120


def test_interval_boundary_in_the_skipped_hour_means_the_moment_of_the_change():
    # New York skips 02:00-03:00 on 9 March 2025; 02:30 does not exist.
    instant = wall_to_utc(dt.date(2025, 3, 9), 150, NEW_YORK)
    assert instant == dt.datetime(2025, 3, 9, 7, 0, tzinfo=dt.UTC)  # 02:00 EST == 03:00 EDT
    hours = BusinessHours.build(time_zone="America/New_York", intervals=[(6, T(2, 30), T(4))])
    sunday = local(NEW_YORK, 2025, 3, 9, 0, 0)
    assert business_minutes_between(sunday, local(NEW_YORK, 2025, 3, 9, 12, 0), hours) == 60


def test_naive_datetimes_and_empty_calendars_are_refused():
    hours = office("Europe/London")
    with pytest.raises(ValueError):
        add_business_time(dt.datetime(2025, 6, 9, 9, 0), 10, hours)
    empty = BusinessHours.build(time_zone="UTC", intervals=[])
    with pytest.raises(NoBusinessHours):
        add_business_time(dt.datetime(2025, 6, 9, tzinfo=dt.UTC), 10, empty)


def test_calendar_time_when_no_business_hours():
    start = dt.datetime(2025, 6, 7, 12, 0, tzinfo=dt.UTC)
    assert add_business_time(start, 90, None) == start + dt.timedelta(minutes=90)
    assert business_minutes_between(start, start + dt.timedelta(hours=2), None) == 120


# -- properties ---------------------------------------------------------------------------

MIXED = BusinessHours.build(
    time_zone="Europe/London",
    intervals=[
        (0, T(8), T(12)),
        (0, T(13), T(18)),
        (1, T(9), T(17)),
        (2, T(9), T(17)),
        (3, T(9), T(17)),
        (4, T(22), T(6)),
        (5, T(22), T(2)),
        (6, T(0, 30), T(3, 30)),
    ],
    days_off=DaysOff(public=holidays.country_holidays("GB", subdiv="ENG"), custom=frozenset({dt.date(2025, 3, 31)})),
)
NY_NIGHTS = BusinessHours.build(
    time_zone="America/New_York",
    intervals=[(d, T(20), T(5)) for d in range(7)] + [(2, T(12), T(13))],
)
CALENDARS = st.sampled_from([MIXED, NY_NIGHTS, office("Europe/London"), around_the_clock("America/New_York")])

# Instants around the 2025 daylight-saving changes, to the minute.
STARTS = st.sampled_from(
    [
        dt.datetime(2025, 3, 7, tzinfo=dt.UTC),
        dt.datetime(2025, 3, 27, tzinfo=dt.UTC),
        dt.datetime(2025, 10, 23, tzinfo=dt.UTC),
        dt.datetime(2025, 10, 31, tzinfo=dt.UTC),
    ]
).flatmap(lambda base: st.integers(0, 6 * 24 * 60).map(lambda m: base + dt.timedelta(minutes=m)))


def _open_by_wall_clock(hours: BusinessHours, instant: dt.datetime) -> bool:
    """The reference: is this instant inside the schedule, judged by the local wall clock?"""
    wall = instant.astimezone(hours.zone)
    if hours.is_day_off(wall.date()):
        return False
    minute = wall.hour * 60 + wall.minute
    return any(s <= minute < e for s, e in hours.week[wall.weekday()])


@settings(max_examples=60, deadline=None)
@given(hours=CALENDARS, start=STARTS, length=st.integers(0, 3 * 24 * 60))
def test_business_minutes_match_a_minute_by_minute_count(hours, start, length):
    end = start + dt.timedelta(minutes=length)
    expected = sum(_open_by_wall_clock(hours, start + dt.timedelta(minutes=i)) for i in range(length))
    assert business_minutes_between(start, end, hours) == expected


@settings(max_examples=200, deadline=None)
@given(hours=CALENDARS, start=STARTS, minutes=st.integers(0, 20_000), seconds=st.integers(0, 59))
def test_adding_then_measuring_gives_back_the_amount(hours, start, minutes, seconds):
    start = start + dt.timedelta(seconds=seconds)
    due = add_business_time(start, minutes, hours)
    assert due >= start
    assert business_minutes_between(start, due, hours) == minutes


@settings(max_examples=100, deadline=None)
@given(hours=CALENDARS, start=STARTS, a=st.integers(0, 5000), b=st.integers(1, 5000))
def test_adding_in_two_steps_equals_adding_at_once(hours, start, a, b):
    assert add_business_time(add_business_time(start, a, hours), b, hours) == add_business_time(start, a + b, hours)
    assert add_business_time(start, a, hours) <= add_business_time(start, a + b, hours)
    if b:
        assert hours.is_open(add_business_time(start, a + b, hours) - dt.timedelta(seconds=1))
