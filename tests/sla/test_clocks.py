"""Clocks through a ticket's life: pause while pending, solve straight from pending, reopen,
first and next response met by replies, and the explanation of every deadline."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone

from tests.factories import TicketFactory, make_agent
from tickets.inbound import InboundMessage, InboundSender
from tickets.models import Ticket
from tickets.models_sla import SlaClock, SlaLedgerEntry
from tickets.services.events import Actor
from tickets.services.ingest import message_ingest
from tickets.services.tickets import ticket_change_status, ticket_reply
from tickets.sla.explain import sla_explain
from tickets.sla.services import sla_apply, sla_on_agent_reply, sla_on_customer_message

from .conftest import berlin, policy_create

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()


def status(ticket: Ticket, new: str, at: dt.datetime) -> None:
    """Change the status through the service (which runs the SLA hook) at the time `at`."""
    with mock.patch("django.utils.timezone.now", return_value=at):
        ticket_change_status(ticket=ticket, status=new, actor=SYSTEM)


@pytest.fixture
def premium(eu_support):
    return policy_create(
        "Premium", calendar=eu_support, targets={"first_response": 240, "resolution": 16 * 60}, warn_before_minutes=0
    )


def kinds(ticket: Ticket, metric: str) -> list[str]:
    return list(SlaLedgerEntry.objects.filter(ticket=ticket, metric=metric).values_list("kind", flat=True))


def test_pending_pauses_resolution_and_moves_its_deadline_by_the_paused_business_time(premium):
    ticket = TicketFactory(created_at=berlin(2025, 3, 12, 10, 30))
    sla_apply(ticket, now=berlin(2025, 3, 12, 10, 30))
    assert ticket.resolution_due_at == berlin(2025, 3, 14, 10, 30)

    status(ticket, "pending", berlin(2025, 3, 12, 15, 0))
    assert ticket.resolution_due_at is None
    assert ticket.first_response_due_at == berlin(2025, 3, 12, 14, 30)  # response clocks never pause

    # paused Wed 15:00-17:00 and Thu 09:00-11:10: 4h10m of business time
    status(ticket, "open", berlin(2025, 3, 13, 11, 10))
    assert ticket.resolution_due_at == berlin(2025, 3, 14, 14, 40)
    assert kinds(ticket, "resolution") == ["activated", "paused", "resumed"]
    resumed = SlaLedgerEntry.objects.get(ticket=ticket, kind="resumed")
    assert resumed.details["paused_seconds"] == (4 * 60 + 10) * 60
    assert resumed.details["paused_wall_seconds"] == (20 * 60 + 10) * 60

    # on hold pauses it too
    status(ticket, "on_hold", berlin(2025, 3, 14, 9, 0))
    status(ticket, "open", berlin(2025, 3, 14, 10, 0))
    assert ticket.resolution_due_at == berlin(2025, 3, 14, 15, 40)


def test_pending_then_on_hold_stays_paused(premium):
    ticket = TicketFactory(created_at=berlin(2025, 3, 12, 10, 30))
    sla_apply(ticket, now=berlin(2025, 3, 12, 10, 30))
    status(ticket, "pending", berlin(2025, 3, 12, 11, 0))
    status(ticket, "on_hold", berlin(2025, 3, 12, 12, 0))
    status(ticket, "open", berlin(2025, 3, 12, 13, 0))
    assert kinds(ticket, "resolution") == ["activated", "paused", "resumed"]
    assert ticket.resolution_due_at == berlin(2025, 3, 14, 12, 30)


def test_solving_straight_from_pending_fulfils_resolution_without_resuming(premium):
    ticket = TicketFactory(created_at=berlin(2025, 3, 12, 10, 30))
    sla_apply(ticket, now=berlin(2025, 3, 12, 10, 30))
    status(ticket, "pending", berlin(2025, 3, 12, 12, 30))
    status(ticket, "solved", berlin(2025, 3, 13, 16, 0))
    clock = SlaClock.objects.get(ticket=ticket, metric="resolution")
    assert clock.state == "fulfilled"
    assert clock.elapsed == dt.timedelta(hours=2)  # only 10:30-12:30 counted
    assert kinds(ticket, "resolution") == ["activated", "paused", "fulfilled"]
    # nobody replied: the first response clock is stopped, not fulfilled
    assert kinds(ticket, "first_response") == ["activated", "stopped"]
    ticket.refresh_from_db()
    assert (ticket.first_response_due_at, ticket.resolution_due_at) == (None, None)


def test_reopening_resumes_resolution_with_the_time_it_had_left(premium):
    ticket = TicketFactory(created_at=berlin(2025, 3, 12, 10, 30))
    sla_apply(ticket, now=berlin(2025, 3, 12, 10, 30))
    status(ticket, "solved", berlin(2025, 3, 12, 12, 30))  # 2 of 16 business hours used
    status(ticket, "open", berlin(2025, 3, 17, 9, 0))  # reopened the next Monday
    assert ticket.resolution_due_at == berlin(2025, 3, 18, 15, 0)  # 14 business hours from Mon 09:00
    assert kinds(ticket, "resolution") == ["activated", "fulfilled", "resumed"]


def test_first_agent_reply_fulfils_first_response_and_customer_message_starts_next_response(db):
    policy_create("Chat", targets={"first_response": 60, "next_response": 30, "resolution": 24 * 60}, business=False)
    agent = make_agent("ana")
    result = message_ingest(
        inbound=InboundMessage(
            channel="chat", sender=InboundSender("chat", "visitor-1"), body_text="Hello?", external_id="c-1"
        )
    )
    ticket, first_message = result.ticket, result.message
    sla_on_customer_message(ticket=ticket, message=first_message)
    assert ticket.first_response_due_at == ticket.created_at + dt.timedelta(minutes=60)
    assert ticket.next_response_due_at is None  # the first response clock covers it

    note = ticket_reply(ticket=ticket, author=agent, body_text="internal", is_internal=True)
    sla_on_agent_reply(ticket=ticket, message=note)
    assert ticket.first_response_due_at is not None

    reply = ticket_reply(ticket=ticket, author=agent, body_text="Hi, how can I help?")
    sla_on_agent_reply(ticket=ticket, message=reply)
    assert ticket.first_response_due_at is None
    fulfilled = SlaLedgerEntry.objects.get(ticket=ticket, metric="first_response", kind="fulfilled")
    assert fulfilled.at == reply.created_at and fulfilled.details["late"] is False

    again = message_ingest(
        inbound=InboundMessage(
            channel="chat", sender=InboundSender("chat", "visitor-1"), body_text="It broke", external_id="c-2"
        )
    )
    assert again.ticket.pk == ticket.pk
    sla_on_customer_message(ticket=ticket, message=again.message)
    assert ticket.next_response_due_at == again.message.created_at + dt.timedelta(minutes=30)
    # a second message before anyone answers does not restart the clock
    third = message_ingest(
        inbound=InboundMessage(
            channel="chat", sender=InboundSender("chat", "visitor-1"), body_text="Hello??", external_id="c-3"
        )
    )
    sla_on_customer_message(ticket=ticket, message=third.message)
    assert ticket.next_response_due_at == again.message.created_at + dt.timedelta(minutes=30)

    answer = ticket_reply(ticket=ticket, author=agent, body_text="Looking now")
    sla_on_agent_reply(ticket=ticket, message=answer)
    assert ticket.next_response_due_at is None
    assert kinds(ticket, "next_response") == ["activated", "fulfilled"]
    assert ticket.resolution_due_at == ticket.created_at + dt.timedelta(days=1)


def test_periodic_update_restarts_at_each_reply_and_pauses_while_pending(db):
    policy_create("Updates", targets={"periodic_update": 120}, business=False)
    agent = make_agent("bo")
    ticket = TicketFactory(created_at=timezone.now() - dt.timedelta(hours=1))
    sla_apply(ticket)
    assert not SlaClock.objects.filter(ticket=ticket).exists()
    first = ticket_reply(ticket=ticket, author=agent, body_text="On it")  # the service runs the SLA hook
    clock = SlaClock.objects.get(ticket=ticket, metric="periodic_update")
    assert (clock.cycle, clock.due_at) == (1, first.created_at + dt.timedelta(hours=2))
    second = ticket_reply(ticket=ticket, author=agent, body_text="Still on it")
    clock.refresh_from_db()
    assert (clock.cycle, clock.due_at) == (2, second.created_at + dt.timedelta(hours=2))
    status(ticket, "pending", second.created_at + dt.timedelta(minutes=10))
    clock.refresh_from_db()
    assert clock.state == "paused"
    status(ticket, "on_hold", second.created_at + dt.timedelta(minutes=20))
    clock.refresh_from_db()
    assert clock.state == "running"  # on hold: the customer waits on us
    assert clock.due_at == second.created_at + dt.timedelta(minutes=130)


def test_explanation(premium):
    ticket = TicketFactory(created_at=berlin(2025, 3, 12, 10, 30))
    sla_apply(ticket, now=berlin(2025, 3, 12, 10, 30))
    status(ticket, "pending", berlin(2025, 3, 12, 15, 0))
    status(ticket, "open", berlin(2025, 3, 13, 11, 10))
    status(ticket, "solved", berlin(2025, 3, 13, 12, 0))
    assert sla_explain(ticket) == [
        "First response due 14:30 Wed 12 Mar (business hours 'EU support', Europe/Berlin): "
        "4 business hours from 10:30, policy 'Premium'",
        "Resolution due 10:30 Fri 14 Mar (business hours 'EU support', Europe/Berlin): "
        "16 business hours from 10:30 Wed 12 Mar, policy 'Premium'",
        "Resolution paused at 15:00 Wed 12 Mar while pending (was due 10:30 Fri 14 Mar)",
        "Resolution paused 4h10m while pending (business time); resumed 11:10 Thu 13 Mar, now due 14:40 Fri 14 Mar",
        "First response stopped at 12:00 Thu 13 Mar: the ticket was solved",
        "Resolution met at 12:00 Thu 13 Mar: 5h20m used of 16 business hours",
    ]


def test_the_ticket_page_explains_each_deadline(client, premium):
    from django.urls import reverse

    from tests.factories import make_agent

    ticket = TicketFactory(created_at=berlin(2025, 3, 12, 10, 30))
    sla_apply(ticket, now=berlin(2025, 3, 12, 10, 30))
    manager = make_agent("sla-reader", role="manager")
    client.force_login(manager)
    page = client.get(reverse("agent:ticket", args=[ticket.number])).content.decode()
    assert "First response due 14:30 Wed 12 Mar" in page
    assert "policy &#x27;Premium&#x27;" in page or "policy 'Premium'" in page
