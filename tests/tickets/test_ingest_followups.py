"""Ingest keeps to what must happen with the message; SLA clocks, routing, triggers,
notifications, webhooks and live pushes run in one follow-up task after commit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache

from tests.factories import make_agent
from tests.sla.conftest import policy_create
from tickets.inbound import InboundMessage, InboundSender
from tickets.models import Event, RawInbound, Ticket
from tickets.models_sla import SlaLedgerEntry
from tickets.services.ingest import message_ingest, raw_inbound_store
from tickets.services.tickets import ticket_reply
from tickets.tasks import ingest_followups_task

pytestmark = pytest.mark.django_db


def chat(text: str, external_id: str, visitor: str = "visitor-7") -> InboundMessage:
    return InboundMessage(
        channel="chat", sender=InboundSender("chat", visitor), body_text=text, external_id=external_id
    )


def email(text: str, message_id: str, **kw) -> InboundMessage:
    return InboundMessage(
        channel="email",
        sender=InboundSender("email", "Ana Souza <ana@example.com>"),
        subject="Order 123",
        body_text=text,
        external_id=message_id,
        **kw,
    )


def test_deadlines_are_set_once_the_ingest_commits(django_capture_on_commit_callbacks):
    policy_create("Chat", targets={"first_response": 60, "resolution": 24 * 60}, business=False)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = message_ingest(inbound=chat("Hello?", "c-1"))
    assert len(callbacks) == 1  # one follow-up task, not one per receiver

    with django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()
    ticket = Ticket.objects.get(pk=result.ticket.pk)
    assert ticket.first_response_due_at == ticket.created_at + dt.timedelta(minutes=60)
    assert ticket.resolution_due_at == ticket.created_at + dt.timedelta(days=1)


def test_the_follow_up_task_can_run_twice_without_doubling_anything(django_capture_on_commit_callbacks):
    policy_create("Chat", targets={"first_response": 60, "next_response": 30}, business=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = message_ingest(inbound=chat("Hello?", "c-2"))
    assert Ticket.objects.get(pk=result.ticket.pk).first_response_due_at is None  # not yet: after commit

    for callback in callbacks * 2:  # a redelivered task
        callback()

    ticket = Ticket.objects.get(pk=result.ticket.pk)
    assert ticket.first_response_due_at == ticket.created_at + dt.timedelta(minutes=60)
    assert SlaLedgerEntry.objects.filter(ticket=ticket, metric="first_response", kind="activated").count() == 1


def test_a_late_follow_up_starts_no_next_response_clock_for_a_message_already_answered(
    django_capture_on_commit_callbacks,
):
    policy_create("Chat", targets={"first_response": 60, "next_response": 30}, business=False)
    agent = make_agent("ana")
    with django_capture_on_commit_callbacks(execute=True):
        first = message_ingest(inbound=chat("Hello?", "c-3"))
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=first.ticket, author=agent, body_text="Hi, how can I help?")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        again = message_ingest(inbound=chat("My card is blocked", "c-4"))
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=again.ticket, author=agent, body_text="Unblocked it.")

    for callback in callbacks:  # the follow-up of the customer's message runs only now
        callback()

    ticket = Ticket.objects.get(pk=first.ticket.pk)
    assert ticket.next_response_due_at is None
    assert not SlaLedgerEntry.objects.filter(ticket=ticket, metric="next_response", kind="activated").exists()


def test_event_receivers_run_in_the_follow_up_and_the_audit_log_is_written_at_once(
    django_capture_on_commit_callbacks, monkeypatch
):
    seen: list[str] = []
    from django.db.models.signals import post_save

    def receiver(sender, instance, created, **kwargs):
        seen.append(instance.verb)

    post_save.connect(receiver, sender=Event, weak=False, dispatch_uid="test.followups")
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            result = message_ingest(inbound=email("Where is it?", "<f1@example.com>"))
        verbs = set(Event.objects.filter(ticket=result.ticket).values_list("verb", flat=True))
        assert {"created", "message_received"} <= verbs  # in the ingest transaction
        assert seen == []  # receivers wait for the follow-up
        for callback in callbacks:
            callback()
        assert {"created", "message_received"} <= set(seen)
    finally:
        post_save.disconnect(dispatch_uid="test.followups", sender=Event)


def test_a_reply_from_a_known_customer_costs_few_queries(django_assert_max_num_queries):
    cache.clear()
    first = message_ingest(inbound=email("Where is my order?", "<q1@example.com>"))
    raw, _created = raw_inbound_store(channel="email", payload=b"raw reply", external_id="<q2@example.com>")

    # identity, thread + lock, message, ticket, event, raw status; a survey-claim check
    # (savepoint, select, release); the ingest savepoint inside the test's transaction.
    with django_assert_max_num_queries(12):
        result = message_ingest(
            inbound=email("Any news?", "<q2@example.com>", in_reply_to=("<q1@example.com>",)), raw=raw
        )

    assert result.ticket.pk == first.ticket.pk
    assert RawInbound.objects.get(pk=raw.pk).status == "processed"


def test_a_redelivered_payload_is_counted_on_its_raw_row_and_stored_once():
    raw, created = raw_inbound_store(channel="sms", payload=b"Body=Hi&MessageSid=SM9", external_id="SM9")
    again, created_again = raw_inbound_store(channel="sms", payload=b"Body=Hi&MessageSid=SM9", external_id="SM9")

    assert (created, created_again) == (True, False)
    assert again.pk == raw.pk
    assert RawInbound.objects.get(pk=raw.pk).deliveries == 2
    first = message_ingest(inbound=_sms("Hi", "SM9"), raw=raw)
    second = message_ingest(inbound=_sms("Hi", "SM9"), raw=again)
    assert not first.duplicate and second.duplicate
    assert second.message.pk == first.message.pk


def _sms(text: str, sid: str) -> InboundMessage:
    return InboundMessage(
        channel="sms", sender=InboundSender("phone", "+1 415 555 0100"), body_text=text, external_id=sid
    )


def test_the_follow_up_task_for_a_vanished_message_does_nothing():
    assert ingest_followups_task(10**9, [10**9], [[10**9, [["apply", "2026-01-01T00:00:00+00:00"]]]]) == "missing"
