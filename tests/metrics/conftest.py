"""A small hand-built history whose KPIs are worked out by hand in the tests."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest

from metrics.models import Survey
from tests.factories import TeamFactory, TicketFactory, make_agent

UTC = dt.UTC


def at(day: int, hour: int = 10, month: int = 3) -> dt.datetime:
    return dt.datetime(2024, month, day, hour, 0, tzinfo=UTC)


# "Now" for backlog ages in the history below.
NOW = at(10)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Agents are made with passwords; a cheap hasher keeps these tests about metrics."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def manager(db):
    return make_agent("boss", role="manager")


@pytest.fixture
def history(db):
    """March 2024 (range 1-9 March, UTC):

    t1 email team A  created 2 Mar, first reply +1 h, solved +10 h   (solved)
    t2 email team A  created 3 Mar, first reply +3 h, solved +20 h   (closed)
    t3 chat  team B  created 4 Mar, first reply +2 h                 (open)
    t4 sms   team B  created 5 Mar, no reply                         (new)
    outside the range: old (20 Feb, reply +100 h, solved, email), t6 (10 Mar 09:00, open),
    t7 (1 Jan, pending).
    """
    team_a, team_b = TeamFactory(name="A"), TeamFactory(name="B")
    alice = make_agent("alice", teams=[team_a])
    t1 = TicketFactory(
        subject="Parcel lost",
        channel="email",
        team=team_a,
        assignee=alice,
        priority="high",
        status="solved",
        created_at=at(2),
        first_responded_at=at(2, 11),
        solved_at=at(2, 20),
    )
    t2 = TicketFactory(
        subject="Refund please",
        channel="email",
        team=team_a,
        status="closed",
        created_at=at(3),
        first_responded_at=at(3, 13),
        solved_at=at(4, 6),
        closed_at=at(5),
    )
    t3 = TicketFactory(
        subject="Chat question",
        channel="chat",
        team=team_b,
        status="open",
        created_at=at(4),
        first_responded_at=at(4, 12),
    )
    t4 = TicketFactory(subject="Text message", channel="sms", team=team_b, status="new", created_at=at(5))
    old = TicketFactory(
        subject="Old one",
        channel="email",
        status="solved",
        created_at=at(20, month=2),
        first_responded_at=at(20, month=2) + dt.timedelta(hours=100),
        solved_at=at(25, month=2),
    )
    t6 = TicketFactory(subject="Fresh", channel="email", status="open", created_at=at(10, 9))
    t7 = TicketFactory(subject="Ancient", channel="email", status="pending", created_at=at(1, month=1))

    def survey(ticket, kind, score, sent):
        return Survey.objects.create(
            ticket=ticket,
            customer=ticket.requester,
            kind=kind,
            key=secrets.token_urlsafe(16),
            channel=ticket.channel,
            agent=ticket.assignee,
            team=ticket.team,
            sent_at=sent,
            score=score,
            answered_at=sent if score else None,
        )

    # CSAT: 5, 4, 2 answered, one unanswered -> 2 of 3 satisfied = 66.7 %. Team A: 5, 4 -> 100 %.
    survey(t1, "csat", 5, at(2, 21))
    survey(t2, "csat", 4, at(4, 7))
    survey(t3, "csat", 2, at(6))
    survey(t4, "csat", None, at(6))
    survey(old, "csat", 1, at(26, month=2))  # outside the range
    # CES: 1 and 4 -> average 2.5 -> (2.5 - 1) / 6 * 100 = 25.
    survey(t1, "ces", 1, at(2, 21))
    survey(t2, "ces", 4, at(4, 7))
    return {
        "team_a": team_a,
        "team_b": team_b,
        "alice": alice,
        "t1": t1,
        "t2": t2,
        "t3": t3,
        "t4": t4,
        "old": old,
        "t6": t6,
        "t7": t7,
    }


def message(ticket, when, *, inbound: bool, author=None, internal: bool = False, **meta):
    from tickets.models import Message

    return Message.objects.create(
        ticket=ticket,
        direction="inbound" if inbound else "outbound",
        author_kind="customer" if inbound else "agent",
        author_customer=ticket.requester if inbound else None,
        author_user=None if inbound else author,
        channel="internal" if internal else ticket.channel,
        is_internal=internal,
        body_text="text",
        delivery_status="received" if inbound else "sent",
        created_at=when,
        metadata=meta,
    )


def status_event(ticket, when, old, new, verb="changed"):
    from tickets.models import Event

    return Event.objects.create(
        ticket=ticket,
        object_type="ticket",
        object_id=ticket.pk,
        verb=verb,
        field="status",
        old_value=old,
        new_value=new,
        actor_kind="system",
        created_at=when,
    )


@pytest.fixture
def office_history(db):
    """Three tickets in the week of Monday 4 March 2024 (UTC), worked out by hand.

    Calendar "Office": Monday-Friday 09:00-17:00 UTC, attached to T through its SLA clock.

    T (email, agent bo) created Mon 16:00. Customer writes at 16:00; first reply Tue 10:00
    (18 h calendar, 2 business h: Mon 16-17 + Tue 9-10); pending Tue 10:00-14:00; customer
    writes 14:00 and 14:30, reply 16:00 (next response 2 h from 14:00); solved Wed 11:00 with a
    third reply. Resolution 43 h calendar; business Mon 1 + Tue 8 + Wed 2 = 11 h minus 4 h
    pending = 7 h. SLA: first response breached, next response fulfilled.
    U (chat, no calendar) created Mon 09:00, one reply 10:00, solved 12:00: 1 h / 3 h, one
    touch. A survey digit reply reopened and re-solved it: not a reopen. SLA: first response met.
    V (sms, no calendar) created Tue 09:00, reply 09:30, solved 10:00, reopened 11:00, solved
    12:00: 0.5 h / 3 h, reopened. SLA: first response met, resolution only warned.
    """
    from tickets.models_sla import BusinessCalendar, BusinessInterval, SlaClock, SlaLedgerEntry

    calendar = BusinessCalendar.objects.create(name="Office", time_zone="UTC")
    for weekday in range(5):
        BusinessInterval.objects.create(calendar=calendar, weekday=weekday, start_time=dt.time(9), end_time=dt.time(17))
    bo = make_agent("bo")
    cy = make_agent("cy")
    T = TicketFactory(
        subject="Office hours ticket",
        channel="email",
        assignee=bo,
        status="solved",
        created_at=at(4, 16),
        first_responded_at=at(5, 10),
        solved_at=at(6, 11),
    )
    message(T, at(4, 16), inbound=True)
    message(T, at(5, 10), inbound=False, author=bo)
    message(T, at(5, 10) + dt.timedelta(minutes=5), inbound=False, author=bo, internal=True)  # a note: ignored
    message(T, at(5, 14), inbound=True)
    message(T, at(5, 14) + dt.timedelta(minutes=30), inbound=True)
    message(T, at(5, 16), inbound=False, author=bo)
    message(T, at(6, 11), inbound=False, author=bo)
    status_event(T, at(5, 10), "open", "pending")
    status_event(T, at(5, 14), "pending", "open")
    status_event(T, at(6, 11), "open", "solved")
    SlaClock.objects.create(
        ticket=T,
        metric="resolution",
        state="stopped",
        target_minutes=600,
        calendar=calendar,
        started_at=at(4, 16),
        elapsed=dt.timedelta(0),
    )
    SlaLedgerEntry.objects.create(ticket=T, metric="first_response", cycle=1, kind="breached", at=at(5, 9))
    SlaLedgerEntry.objects.create(ticket=T, metric="first_response", cycle=1, kind="fulfilled", at=at(5, 10))
    SlaLedgerEntry.objects.create(ticket=T, metric="next_response", cycle=1, kind="fulfilled", at=at(5, 16))

    U = TicketFactory(
        subject="Chat solved at once",
        channel="chat",
        assignee=cy,
        status="solved",
        created_at=at(4, 9),
        first_responded_at=at(4, 10),
        solved_at=at(4, 12),
    )
    message(U, at(4, 9), inbound=True)
    message(U, at(4, 10), inbound=False, author=cy)
    status_event(U, at(4, 12), "open", "solved")
    message(U, at(4, 14), inbound=True, survey_reply=1)
    status_event(U, at(4, 14), "solved", "open", verb="reopened")
    status_event(U, at(4, 14), "open", "solved")
    from tickets.models import Event

    Event.objects.create(
        ticket=U,
        object_type="ticket",
        object_id=U.pk,
        verb="survey_reply_resolved",
        actor_kind="system",
        created_at=at(4, 14),
    )
    SlaLedgerEntry.objects.create(ticket=U, metric="first_response", cycle=1, kind="fulfilled", at=at(4, 10))

    V = TicketFactory(
        subject="Reopened text",
        channel="sms",
        assignee=cy,
        status="solved",
        created_at=at(5, 9),
        first_responded_at=at(5, 9) + dt.timedelta(minutes=30),
        solved_at=at(5, 12),
    )
    message(V, at(5, 9), inbound=True)
    message(V, at(5, 9) + dt.timedelta(minutes=30), inbound=False, author=cy)
    status_event(V, at(5, 10), "open", "solved")
    status_event(V, at(5, 11), "solved", "open", verb="reopened")
    status_event(V, at(5, 12), "open", "solved")
    SlaLedgerEntry.objects.create(ticket=V, metric="first_response", cycle=1, kind="fulfilled", at=at(5, 9))
    SlaLedgerEntry.objects.create(ticket=V, metric="resolution", cycle=1, kind="warned", at=at(5, 11))
    return {"T": T, "U": U, "V": V, "bo": bo, "cy": cy, "calendar": calendar}
