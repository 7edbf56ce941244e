"""Every KPI on the hand-built week of conftest.office_history, with the answers worked out by
hand: business hours of the SLA calendar, paused time, next responses, reopens, one-touch
resolution, SLA attainment, NPS, per-agent figures and goals."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics.models import Goal, QaReview, Scorecard, Survey
from metrics.selectors import KpiFilters, drilldown_tickets, goal_status, kpi_agents, kpi_goals, kpi_summary
from tests.factories import TicketFactory

from .conftest import NOW, at

pytestmark = pytest.mark.django_db

WEEK = KpiFilters(date_from=dt.date(2024, 3, 4), date_to=dt.date(2024, 3, 8))


def test_response_and_resolution_times_in_calendar_and_business_hours(office_history, manager):
    s = kpi_summary(user=manager, filters=WEEK, now=NOW)
    assert (s.created, s.resolved, s.solved) == (3, 3, 3)
    # First responses 18 h, 1 h, 0.5 h; in business hours 2 h (Office calendar), 1 h, 0.5 h.
    assert s.frt.average_hours == pytest.approx(19.5 / 3)
    assert s.frt.business_average_hours == pytest.approx(3.5 / 3)
    assert s.frt.median_hours == pytest.approx(1.0)
    # Resolution 43 h, 2... (U: 09:00 -> 12:00 = 3 h), V 3 h; business 7 h (4 h pending left out), 3 h, 3 h.
    assert s.resolution.average_hours == pytest.approx(49 / 3)
    assert s.resolution.business_average_hours == pytest.approx(13 / 3)
    assert s.resolution.median_hours == pytest.approx(3.0)
    # Next response: one, 2 h (from the first waiting customer message at 14:00 to the 16:00 reply).
    assert (s.nrt.count, s.nrt.average_hours) == (1, pytest.approx(2.0))


def test_reopen_rate_fcr_and_sla_attainment(office_history, manager):
    s = kpi_summary(user=manager, filters=WEEK, now=NOW)
    # V was reopened; U's reopen was a survey reply and does not count.
    assert (s.reopened, s.reopen_rate) == (1, pytest.approx(100 / 3))
    # Only U was solved with one agent reply and never reopened (T had three replies).
    assert (s.one_touch, s.fcr) == (1, pytest.approx(100 / 3))
    # T first response breached (then fulfilled: still missed), T next response met, U and V
    # first response met; V's warned resolution has not ended. 3 / 4.
    assert (s.sla_met, s.sla_missed, s.sla) == (3, 1, 75.0)


def test_drilldowns_list_the_tickets_behind_each_number(office_history, manager):
    T, U, V = office_history["T"], office_history["U"], office_history["V"]

    def numbers(kpi, **kw):
        return {t.pk for t in drilldown_tickets(user=manager, filters=WEEK, kpi=kpi, **kw)}

    assert numbers("reopened") == {V.pk}
    assert numbers("one_touch") == {U.pk}
    assert numbers("sla_missed") == {T.pk}
    assert numbers("nrt") == {T.pk}
    assert numbers("created", weekday=1) == {T.pk, U.pk}  # Monday
    assert numbers("created", weekday=1, hour=16) == {T.pk}
    assert numbers("solved", day=dt.date(2024, 3, 6)) == {T.pk}


def test_nps_and_ces_and_csat(office_history, manager):
    T, U, V = office_history["T"], office_history["U"], office_history["V"]
    extra = [TicketFactory(status="solved", created_at=at(5), solved_at=at(5, 1)) for _ in range(1)]
    for i, (ticket, score) in enumerate([(T, 10), (U, 9), (V, 7), (extra[0], 3)]):
        Survey.objects.create(
            ticket=ticket,
            customer=ticket.requester,
            kind="nps",
            key=f"k{i}",
            channel=ticket.channel,
            agent=ticket.assignee,
            sent_at=at(6),
            score=score,
            answered_at=at(6),
        )
    s = kpi_summary(user=manager, filters=WEEK, now=NOW)
    # 2 promoters, 1 passive, 1 detractor of 4: 50 % - 25 % = 25.
    assert (s.nps_answered, s.nps) == (4, 25.0)


def test_agent_table(office_history, manager):
    bo = office_history["bo"]
    card = Scorecard.objects.get(is_default=True)
    QaReview.objects.create(
        ticket=office_history["T"], agent=bo, reviewer=manager, scorecard=card, score=80, created_at=at(6)
    )
    QaReview.objects.create(
        ticket=office_history["U"], agent=bo, reviewer=None, scorecard=card, score=60, created_at=at(7)
    )
    rows = {r["agent"]: r for r in kpi_agents(user=manager, filters=WEEK)}
    assert rows["bo"]["solved"] == 1 and rows["cy"]["solved"] == 2
    assert rows["bo"]["frt_hours"] == pytest.approx(18.0)
    assert rows["cy"]["frt_hours"] == pytest.approx(0.75)
    assert rows["cy"]["resolution_hours"] == pytest.approx(3.0)
    assert rows["cy"]["fcr"] == pytest.approx(50.0)
    assert (rows["bo"]["qa"], rows["bo"]["qa_reviews"]) == (70.0, 2)
    assert rows["cy"]["qa"] is None


def test_goal_status_met_at_risk_missed(office_history, manager):
    s = kpi_summary(user=manager, filters=WEEK, now=NOW)
    Goal.objects.create(kpi="sla", target=75)  # 75 %: met
    Goal.objects.create(kpi="fcr", target=36, at_risk_percent=10)  # 33.3 %: within 3.6 -> at risk
    Goal.objects.create(kpi="frt", target=4)  # 6.5 h average against 4 h: missed (lower is better)
    Goal.objects.create(kpi="csat", target=90)  # no answers: no data
    goals = kpi_goals(summary=s, filters=WEEK)
    assert {k: g["status"] for k, g in goals.items()} == {
        "sla": "met",
        "fcr": "at_risk",
        "frt": "missed",
        "csat": "no_data",
    }
    assert goal_status(Goal(kpi="resolution", target=10, at_risk_percent=20), 11.9) == "at_risk"
    assert goal_status(Goal(kpi="resolution", target=10, at_risk_percent=20), 12.1) == "missed"


def test_tag_filter_is_computed_live(office_history, manager):
    from tickets.models import Tag

    urgent = Tag.objects.create(name="urgent")
    office_history["V"].tags.add(urgent)
    s = kpi_summary(user=manager, filters=KpiFilters(**{**WEEK.__dict__, "tag": "urgent"}), now=NOW)
    assert (s.created, s.reopened, s.frt.average_hours) == (1, 1, pytest.approx(0.5))
