"""Outbound delivery: a queued reply is handed to its channel's sender, and the outcome
(sent with the provider's id, or failed with its reason) is visible on the message.

The senders here are stand-ins registered for the test: real channel adapters (and their
tests against local provider servers) come with each channel."""

from __future__ import annotations

import pytest

from tests.factories import TicketFactory, make_agent
from tests.helpers import replace_sender
from tickets.models import DeliveryStatus, Event
from tickets.outbound import DeliveryError, DeliveryRetry, sender_register
from tickets.services.delivery import message_deliver
from tickets.services.tickets import ticket_reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def telegram_sender():
    sent = []

    def send(message):
        sent.append(message.body_text)
        return f"tg-{len(sent)}"

    with replace_sender("telegram", send):
        yield sent


def test_a_reply_is_sent_after_commit_and_records_the_provider_id(telegram_sender, django_capture_on_commit_callbacks):
    ticket = TicketFactory(channel="telegram")
    with django_capture_on_commit_callbacks(execute=True):
        message = ticket_reply(ticket=ticket, author=make_agent("alice"), body_text="On its way")
    message.refresh_from_db()
    assert telegram_sender == ["On its way"]
    assert message.delivery_status == DeliveryStatus.SENT
    assert message.external_id == "tg-1" and message.sent_at is not None


def test_delivering_twice_sends_once(telegram_sender):
    message = ticket_reply(ticket=TicketFactory(channel="telegram"), author=make_agent("a"), body_text="Once")
    assert message_deliver(message_id=message.pk) == DeliveryStatus.SENT
    assert message_deliver(message_id=message.pk) == DeliveryStatus.SENT
    assert telegram_sender == ["Once"]


def test_a_permanent_failure_is_visible_on_the_ticket():
    def refuse(message):
        raise DeliveryError("Recipient blocked the bot (403)")

    with replace_sender("telegram", refuse):
        message = ticket_reply(ticket=TicketFactory(channel="telegram"), author=make_agent("a"), body_text="Hi")
        assert message_deliver(message_id=message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.FAILED
    assert message.delivery_error == "Recipient blocked the bot (403)"
    event = Event.objects.get(verb="delivery_failed")
    assert event.ticket == message.ticket and event.data["reason"] == "Recipient blocked the bot (403)"


def test_a_temporary_failure_requeues_until_the_last_attempt():
    def flaky(message):
        raise DeliveryRetry("HTTP 503 from provider")

    with replace_sender("telegram", flaky):
        message = ticket_reply(ticket=TicketFactory(channel="telegram"), author=make_agent("a"), body_text="Hi")
        with pytest.raises(DeliveryRetry):
            message_deliver(message_id=message.pk)
        message.refresh_from_db()
        assert message.delivery_status == DeliveryStatus.QUEUED and message.delivery_attempts == 1
        assert message_deliver(message_id=message.pk, final_attempt=True) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert message.delivery_error == "HTTP 503 from provider" and message.delivery_attempts == 2


def test_a_channel_without_a_sender_fails_with_a_readable_reason():
    message = ticket_reply(ticket=TicketFactory(channel="voice"), author=make_agent("a"), body_text="Hi")
    assert message_deliver(message_id=message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert message.delivery_error == "No channel is set up to send Phone messages."


def test_registering_two_senders_for_one_channel_is_refused(telegram_sender):
    with pytest.raises(ValueError, match="already registered"):
        sender_register("telegram", lambda m: "x")


def _sent_message(provider_id: str):
    message = ticket_reply(ticket=TicketFactory(channel="whatsapp"), author=make_agent("s"), body_text="Hi")
    type(message).objects.filter(pk=message.pk).update(delivery_status=DeliveryStatus.SENT, external_id=provider_id)
    return message


def test_provider_reports_move_a_message_forward_and_never_back():
    from tickets.services.delivery import message_delivery_update

    message = _sent_message("wamid.X")
    message_delivery_update(channel="whatsapp", external_id="wamid.X", status="read")
    message_delivery_update(channel="whatsapp", external_id="wamid.X", status="delivered")  # late callback
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.READ
    assert list(Event.objects.filter(field="delivery_status").values_list("old_value", "new_value")) == [
        ("sent", "read")
    ]


def test_a_bounce_marks_the_message_failed_with_the_reason():
    from tickets.services.delivery import message_delivery_update

    message = _sent_message("<out-1@helpdesk.example>")
    type(message).objects.filter(pk=message.pk).update(channel="email")
    updated = message_delivery_update(
        channel="email", external_id="<out-1@helpdesk.example>", status="failed", error="550 5.1.1 user unknown"
    )
    assert updated.delivery_status == DeliveryStatus.FAILED and updated.delivery_error == "550 5.1.1 user unknown"
    assert message_delivery_update(channel="email", external_id="<nobody@x>", status="failed") is None


def test_a_second_copy_of_the_task_leaves_a_message_another_worker_is_sending(telegram_sender, settings):
    """The recovery sweep may queue a reply again while the first worker is still talking to
    the provider: while that worker's claim holds, the copy does nothing, so the customer gets
    the reply once. Once the claim has lapsed (the worker died), the reply is sent."""
    import datetime as dt

    from django.utils import timezone

    from tickets.models import Message

    settings.DELIVERY_LEASE_SECONDS = 120
    message = ticket_reply(ticket=TicketFactory(channel="telegram"), author=make_agent("a"), body_text="Once only")
    claimed = timezone.now() - dt.timedelta(seconds=30)
    Message.objects.filter(pk=message.pk).update(
        delivery_status=DeliveryStatus.SENDING,
        delivery_attempts=1,
        metadata={"delivery_claimed_at": claimed.isoformat()},
    )
    assert message_deliver(message_id=message.pk) == DeliveryStatus.SENDING
    assert telegram_sender == []
    assert Message.objects.get(pk=message.pk).delivery_attempts == 1

    settings.DELIVERY_LEASE_SECONDS = 20  # the first worker's claim is now older than the lease
    assert message_deliver(message_id=message.pk) == DeliveryStatus.SENT
    assert telegram_sender == ["Once only"]
    assert Message.objects.get(pk=message.pk).delivery_attempts == 2
