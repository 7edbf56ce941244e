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
