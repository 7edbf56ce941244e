"""Background work really runs on a Celery worker over the Redis broker, not in the caller.

Each test starts a worker thread (`celery_worker`), does what an agent or a channel would do,
and waits for the worker's effect: the work must not depend on eager mode to happen."""

from __future__ import annotations

import threading
import time

import pytest
from celery import current_task

from helpdesk.celery import app as celery_app
from tests.factories import make_agent
from tickets.inbound import InboundMessage, InboundSender
from tickets.models import DeliveryStatus, Event, Message
from tickets.outbound import sender_for, sender_register, sender_unregister
from tickets.services.ingest import message_ingest
from tickets.services.tickets import ticket_reply
from tickets.signals import message_ingested

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def wait_for(condition, timeout: float = 20.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    return condition()


def test_an_ingested_message_is_announced_by_the_worker(celery_worker):
    fired = threading.Event()
    seen: dict = {}

    def receiver(sender, message_id, **kwargs):
        seen.update(
            message_id=message_id,
            thread=threading.current_thread(),
            delivery_info=dict(current_task.request.delivery_info or {}) if current_task else {},
            eager=current_task.request.is_eager if current_task else None,
        )
        fired.set()

    message_ingested.connect(receiver, weak=False)
    try:
        result = message_ingest(
            inbound=InboundMessage(
                channel="email",
                sender=InboundSender(kind="email", value="Ana Souza <ana@example.com>", name="Ana Souza"),
                subject="Printer on fire",
                body_text="The office printer is on fire again.",
                external_id="<worker-test-1@example.com>",
            )
        )
        assert fired.wait(timeout=20), "the worker never ran tickets.message_ingested"
    finally:
        message_ingested.disconnect(receiver)

    assert seen["message_id"] == result.message.pk
    assert seen["thread"] is not threading.current_thread()
    assert seen["eager"] is False
    # It came off this run's broker queue, not from an in-process call.
    assert seen["delivery_info"].get("routing_key") == celery_app.conf.task_default_queue
    assert celery_app.conf.task_default_queue.startswith("helpdesk-test-")


@pytest.fixture
def no_whatsapp_sender():
    """No WhatsApp sender is set up, whatever adapters the product registers."""
    registered = sender_for("whatsapp")
    sender_unregister("whatsapp")
    yield
    if registered is not None:
        sender_register("whatsapp", registered)


def test_a_reply_with_no_sender_for_its_channel_fails_visibly_on_the_worker(celery_worker, no_whatsapp_sender):
    ingested = message_ingest(
        inbound=InboundMessage(
            channel="whatsapp",
            sender=InboundSender(kind="whatsapp", value="+55 11 91234-5678", name="Bruno"),
            body_text="Is my order on its way?",
            external_id="wamid.worker-test-2",
        )
    )
    agent = make_agent("worker-alice")
    reply = ticket_reply(ticket=ingested.ticket, author=agent, body_text="Yes, it ships today.")
    assert reply.delivery_status == DeliveryStatus.QUEUED

    def failed():
        message = Message.objects.get(pk=reply.pk)
        return message if message.delivery_status == DeliveryStatus.FAILED else None

    message = wait_for(failed)
    assert message is not None, (
        f"delivery did not fail on the worker; status is {Message.objects.get(pk=reply.pk).delivery_status}"
    )
    assert message.delivery_error == "No channel is set up to send WhatsApp messages."
    assert message.delivery_attempts == 1
    event = Event.objects.get(verb="delivery_failed", ticket=ingested.ticket)
    assert event.data["reason"] == message.delivery_error
