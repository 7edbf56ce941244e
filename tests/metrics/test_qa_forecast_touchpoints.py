"""Quality reviews (weighted seven Cs), the volume forecast with Erlang C staffing, and the
customer touchpoint figures, each on small histories with known answers."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from metrics.forecast import agents_needed, erlang_c, service_level, volume_forecast
from metrics.models import QaReview, Scorecard
from metrics.qa import qa_review_save, qa_weighted_score
from metrics.selectors import KpiFilters
from metrics.touchpoints import (
    touchpoints_channels,
    touchpoints_churn,
    touchpoints_contacts,
    touchpoints_since,
    touchpoints_top_tags,
)
from tests.factories import CustomerFactory, TicketFactory, make_agent
from tickets.models import Tag
from tickets.services.events import Actor

from .conftest import at, message

pytestmark = pytest.mark.django_db


# --- QA -----------------------------------------------------------------------------------


def test_default_scorecard_is_the_seven_cs():
    card = Scorecard.objects.get(is_default=True)
    assert [c.name for c in card.criteria.all()] == [
        "Clear communication",
        "Consistency",
        "Courtesy",
        "Capability",
        "Correctness",
        "Convenience",
        "Commitment",
    ]
    assert sum(c.weight for c in card.criteria.all()) == 11


def test_weighted_score():
    assert qa_weighted_score([(2, 5), (1, 5)]) == 100
    assert qa_weighted_score([(2, 1), (1, 1)]) == 0
    assert qa_weighted_score([(3, 1), (8, 5)]) == pytest.approx(800 / 11)
    assert qa_weighted_score([(1, 3)]) == 50


def test_review_of_an_agents_replies(manager):
    agent = make_agent("dee")
    ticket = TicketFactory()
    card = Scorecard.objects.get(is_default=True)
    criteria = list(card.criteria.all())
    scores = {c.pk: 5 for c in criteria}
    with pytest.raises(ValidationError, match="has not replied"):
        qa_review_save(ticket=ticket, agent=agent, scorecard=card, scores=scores, actor=Actor.agent(manager))
    message(ticket, at(1), inbound=False, author=agent)
    correctness = next(c for c in criteria if c.name == "Correctness")
    review = qa_review_save(
        ticket=ticket,
        agent=agent,
        scorecard=card,
        scores={**scores, correctness.pk: 1},
        comment="Wrong refund rule.",
        actor=Actor.agent(manager),
    )
    assert review.score == pytest.approx(800 / 11)
    with pytest.raises(ValidationError, match="Score every criterion"):
        qa_review_save(
            ticket=ticket, agent=agent, scorecard=card, scores={correctness.pk: 3}, actor=Actor.agent(manager)
        )
    with pytest.raises(ValidationError, match="from 1 to 5"):
        qa_review_save(
            ticket=ticket, agent=agent, scorecard=card, scores={**scores, correctness.pk: 6}, actor=Actor.agent(manager)
        )
    with pytest.raises(PermissionDenied):
        qa_review_save(ticket=ticket, agent=agent, scorecard=card, scores=scores, actor=Actor.agent(make_agent("eve")))
    # Reviewing again replaces the one review.
    qa_review_save(ticket=ticket, agent=agent, scorecard=card, scores=scores, actor=Actor.agent(manager))
    assert QaReview.objects.get().score == 100
    assert QaReview.objects.get().scores.count() == 7


# --- Forecast and staffing ----------------------------------------------------------------


def _erlang_c_direct(n: int, a: float) -> float:
    top = a**n / math.factorial(n) * n / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


def test_erlang_c_matches_the_formula():
    assert erlang_c(3, 2) == pytest.approx(4 / 9)  # worked by hand
    for n, a in [(5, 3.2), (11, 10), (30, 25.5)]:
        assert erlang_c(n, a) == pytest.approx(_erlang_c_direct(n, a))
    assert erlang_c(2, 2) == 1.0 and erlang_c(4, 0) == 0.0
    # 3 agents, 2 Erlangs, 3-minute handle time, answered within 1 minute.
    assert service_level(3, 2, 3, 1) == pytest.approx(1 - 4 / 9 * math.exp(-1 / 3))


def test_agents_needed():
    # 40 tickets an hour x 3 minutes = 2 Erlangs: 3 agents reach 68 %, 4 reach 91 %.
    assert agents_needed(per_hour=40, aht_minutes=3, target_sl=0.8, target_minutes=1) == 4
    assert agents_needed(per_hour=40, aht_minutes=3, target_sl=0.6, target_minutes=1) == 3
    assert agents_needed(per_hour=0, aht_minutes=3, target_sl=0.8, target_minutes=1) == 0


def test_forecast_repeats_the_weekly_pattern_with_its_trend():
    now = dt.datetime(2024, 3, 13, 12, tzinfo=dt.UTC)  # a Wednesday; this week's Monday is 11 March
    monday = dt.datetime(2024, 3, 11, tzinfo=dt.UTC)
    # 8 full weeks: every Monday 10:00 two tickets; every Tuesday 09:00 i + 1 tickets in week i.
    for i in range(8):
        week = monday - dt.timedelta(weeks=8 - i)
        for _ in range(2):
            TicketFactory(created_at=week + dt.timedelta(hours=10))
        for _ in range(i + 1):
            TicketFactory(created_at=week + dt.timedelta(days=1, hours=9))
    result = volume_forecast(days=14, weeks=8, now=now)
    assert result["history_total"] == 16 + 36
    assert result["trend_per_week"] == pytest.approx(1.0)  # weekly totals 3, 4, ..., 10
    hours = {h.start: h for h in result["hours"]}
    assert len(hours) == 14 * 24
    next_monday = dt.datetime(2024, 3, 18, 10, tzinfo=dt.UTC)
    next_tuesday = dt.datetime(2024, 3, 19, 9, tzinfo=dt.UTC)
    # Level next week: a + b x 9 = 3 + 9 = 12 (weeks 0..7 were 3..10, this week is 8, next is 9).
    # Shares: Monday 10:00 holds 2 of 6.5 a week on average, Tuesday 09:00 4.5 of 6.5.
    assert hours[next_monday].expected == pytest.approx(12 * 2 / 6.5)
    assert hours[next_tuesday].expected == pytest.approx(12 * 4.5 / 6.5)
    assert hours[next_monday - dt.timedelta(hours=1)].expected == 0
    assert hours[next_tuesday].agents >= 1 and hours[next_monday - dt.timedelta(hours=1)].agents == 0
    daily = {d["day"]: d for d in result["daily"]}
    assert daily[dt.date(2024, 3, 19)]["expected"] == pytest.approx(12 * 4.5 / 6.5)


# --- Touchpoints --------------------------------------------------------------------------

MARCH = KpiFilters(date_from=dt.date(2024, 3, 1), date_to=dt.date(2024, 3, 31))


@pytest.fixture
def customers(db):
    """ann: 3 tickets (email, email, chat), signed up 1 March, churned.
    ben: 1 ticket (sms) 10 days after purchase, retained. cat: no ticket, churned. dan: 1
    ticket (email) with a malformed date, retained."""
    created = at(1, month=1)
    ann = CustomerFactory(name="Ann", created_at=created, attributes={"signed_up_at": "2024-03-01", "churned": True})
    ben = CustomerFactory(name="Ben", created_at=created, attributes={"purchased_at": "2024-03-02T08:00:00Z"})
    CustomerFactory(name="Cat", created_at=created, attributes={"churned": True})
    dan = CustomerFactory(name="Dan", created_at=created, attributes={"signed_up_at": "soon", "churned": False})
    billing, login = Tag.objects.create(name="billing"), Tag.objects.create(name="login")
    t1 = TicketFactory(requester=ann, channel="email", created_at=at(3))
    t2 = TicketFactory(requester=ann, channel="email", created_at=at(15))
    t3 = TicketFactory(requester=ann, channel="chat", created_at=at(20))
    TicketFactory(requester=ben, channel="sms", created_at=at(12))
    t5 = TicketFactory(requester=dan, channel="email", created_at=at(5))
    TicketFactory(requester=ben, channel="sms", created_at=at(12, month=5))  # outside March
    t1.tags.add(billing)
    t2.tags.add(billing, login)
    t3.tags.add(billing)
    t5.tags.add(login)


def test_contacts_and_channels(customers, manager):
    contacts = touchpoints_contacts(user=manager, filters=MARCH)
    assert (contacts["customers"], contacts["tickets"], contacts["average"]) == (3, 5, pytest.approx(5 / 3))
    assert [b["customers"] for b in contacts["buckets"]] == [2, 0, 1, 0]
    channels = touchpoints_channels(user=manager, filters=MARCH)
    assert [(r["channel"], r["customers"], r["tickets"]) for r in channels["by_channel"]] == [
        ("email", 2, 3),
        ("chat", 1, 1),
        ("sms", 1, 1),
    ]
    assert channels["spread"] == [{"channels": 1, "customers": 2}, {"channels": 2, "customers": 1}]


def test_time_since_signup_and_purchase(customers, manager):
    signed_up = touchpoints_since(user=manager, filters=MARCH, attribute="signed_up_at")
    # Ann signed up 1 March: tickets after 2, 14 and 19 days; Dan's "soon" is left out.
    assert [b["tickets"] for b in signed_up] == [1, 2, 0, 0, 0]
    purchased = touchpoints_since(user=manager, filters=MARCH, attribute="purchased_at")
    assert [b["tickets"] for b in purchased] == [0, 1, 0, 0, 0]  # Ben, 10 days after


def test_top_tags_and_churn(customers, manager):
    assert touchpoints_top_tags(user=manager, filters=MARCH) == [
        {"name": "billing", "tickets": 3},
        {"name": "login", "tickets": 2},
    ]
    rows = {r["key"]: r for r in touchpoints_churn(user=manager, filters=MARCH)}
    # Churned: Ann (3 tickets) and Cat (none). Retained: Ben (1) and Dan (1).
    assert (rows["churned"]["customers"], rows["churned"]["contacting"], rows["churned"]["contact_rate"]) == (2, 1, 50)
    assert rows["churned"]["tickets_per_customer"] == 1.5
    assert (rows["retained"]["customers"], rows["retained"]["contacting"], rows["retained"]["contact_rate"]) == (
        2,
        2,
        100,
    )
    assert rows["retained"]["tickets_per_customer"] == 1.0
