"""Agent replies on WhatsApp go out through the Cloud API's messages endpoint (here a local Graph
server), only inside the 24-hour customer-service window; Meta's refusals are shown on the
ticket, throttling and outages are retried."""

from __future__ import annotations

import logging
import time

import pytest

from tests.factories import IdentityFactory, TicketFactory, make_agent
from tickets.models import DeliveryStatus, Message, Ticket
from tickets.outbound import DeliveryRetry
from tickets.services.delivery import message_deliver
from tickets.services.tickets import ticket_reply

from .conftest import PHONE_NUMBER_ID, WHATSAPP_TOKEN, post_signed, wa_body, wa_text

pytestmark = [pytest.mark.django_db]

WA_ID = "5511912345678"
WINDOW_TEXT = "outside WhatsApp's 24-hour window: send an approved template"


def customer_wrote(client, capture, *, hours_ago: float = 0.5) -> Ticket:
    ts = int(time.time() - hours_ago * 3600)
    with capture(execute=True):
        assert post_signed(client, wa_body([wa_text(f"wamid.IN{ts}", "Help please", ts=ts)])).status_code == 200
    return Message.objects.get(external_id=f"wamid.IN{ts}").ticket


def reply(ticket: Ticket, text: str = "Your technician comes at 10:00.") -> Message:
    return ticket_reply(ticket=ticket, author=make_agent("agent-wa"), body_text=text, channel="whatsapp")


def test_a_reply_inside_the_window_is_posted_to_the_messages_endpoint(
    client, meta, django_capture_on_commit_callbacks, caplog
):
    ticket = customer_wrote(client, django_capture_on_commit_callbacks)
    message = reply(ticket)
    with caplog.at_level(logging.DEBUG):
        assert message_deliver(message_id=message.pk) == DeliveryStatus.SENT
    (call,) = meta.posts()
    assert call.path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
    assert call.bearer == WHATSAPP_TOKEN and call.headers["Content-Type"] == "application/json"
    assert call.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_ID,
        "type": "text",
        "text": {"preview_url": False, "body": "Your technician comes at 10:00."},
    }
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.SENT and message.external_id == "wamid.OUT1"
    assert WHATSAPP_TOKEN not in caplog.text


def test_the_status_callback_then_marks_it_delivered(client, meta, django_capture_on_commit_callbacks):
    message = reply(customer_wrote(client, django_capture_on_commit_callbacks))
    message_deliver(message_id=message.pk)
    delivered = {"id": "wamid.OUT1", "status": "delivered", "timestamp": str(int(time.time())), "recipient_id": WA_ID}
    with django_capture_on_commit_callbacks(execute=True):
        post_signed(client, wa_body(statuses=[delivered]))
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.DELIVERED


def test_outside_the_24_hour_window_a_free_text_reply_fails_with_the_reason(
    client, meta, django_capture_on_commit_callbacks
):
    ticket = customer_wrote(client, django_capture_on_commit_callbacks, hours_ago=25)
    message = reply(ticket)
    assert message_deliver(message_id=message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert WINDOW_TEXT in message.delivery_error
    assert meta.posts() == []  # nothing was sent to Meta


def test_a_customer_who_never_wrote_on_whatsapp_is_outside_the_window(meta):
    identity = IdentityFactory(kind="whatsapp", value="+" + WA_ID)
    message = reply(TicketFactory(channel="whatsapp", requester=identity.customer))
    assert message_deliver(message_id=message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert WINDOW_TEXT in message.delivery_error and meta.posts() == []


def test_metas_own_re_engagement_error_gives_the_same_reason(client, meta, django_capture_on_commit_callbacks):
    message = reply(customer_wrote(client, django_capture_on_commit_callbacks))
    meta.fail_next(400, 131047, "Re-engagement message")
    assert message_deliver(message_id=message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert WINDOW_TEXT in message.delivery_error and "131047" in message.delivery_error


def test_a_4xx_fails_the_message_with_metas_message_and_code(client, meta, django_capture_on_commit_callbacks):
    message = reply(customer_wrote(client, django_capture_on_commit_callbacks))
    meta.fail_next(400, 100, "Invalid parameter")
    assert message_deliver(message_id=message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert message.delivery_error == "WhatsApp refused the message: Invalid parameter (code 100)"


@pytest.mark.parametrize(("status", "code"), [(429, 130429), (500, 1), (503, 2)])
def test_throttling_and_outages_are_retried(client, meta, django_capture_on_commit_callbacks, status, code):
    message = reply(customer_wrote(client, django_capture_on_commit_callbacks))
    meta.fail_next(status, code, "Try again later")
    with pytest.raises(DeliveryRetry):
        message_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.QUEUED
    assert message_deliver(message_id=message.pk) == DeliveryStatus.SENT  # the next attempt goes through


def test_a_wrong_token_is_a_failure_that_does_not_show_the_token(
    client, meta, settings, django_capture_on_commit_callbacks
):
    message = reply(customer_wrote(client, django_capture_on_commit_callbacks))
    settings.WHATSAPP_ACCESS_TOKEN = "EAAG-revoked-token"
    assert message_deliver(message_id=message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert "Invalid OAuth access token" in message.delivery_error and "EAAG" not in message.delivery_error
