"""Agent replies on Telegram go out through sendMessage on the (local) Bot API; Telegram's
refusals fail the message with Telegram's words, rate limits and outages are retried."""

from __future__ import annotations

import pytest

from tests.factories import IdentityFactory, TicketFactory, make_agent
from tickets.models import DeliveryStatus, Message
from tickets.outbound import DeliveryRetry
from tickets.services.delivery import message_deliver
from tickets.services.tickets import ticket_reply

from .conftest import TOKEN

pytestmark = pytest.mark.django_db


def reply(text: str = "Your parcel left the warehouse today.", user_id: str = "4242") -> Message:
    identity = IdentityFactory(kind="telegram", value=user_id)
    ticket = TicketFactory(channel="telegram", requester=identity.customer)
    return ticket_reply(ticket=ticket, author=make_agent(f"agent-{user_id}"), body_text=text, channel="telegram")


def test_a_reply_is_sent_with_sendmessage_to_the_customers_chat(telegram, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the delivery task, in-process
        message = reply()
    (call,) = telegram.calls("sendMessage")
    assert call.method == "POST" and call.path == f"/bot{TOKEN}/sendMessage"
    assert call.headers["Content-Type"] == "application/json"
    assert call.json() == {"chat_id": "4242", "text": "Your parcel left the warehouse today."}
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.SENT
    assert message.external_id == f"4242:{telegram.next_message_id}"


def test_a_long_reply_is_sent_in_parts_within_telegrams_limit(telegram):
    message = reply("\n".join(f"Line {n}: " + "x" * 90 for n in range(100)))  # about 10,000 characters
    assert message_deliver(message_id=message.pk) == DeliveryStatus.SENT
    parts = [call.json()["text"] for call in telegram.calls("sendMessage")]
    assert len(parts) == 3 and all(len(part) <= 4096 for part in parts)
    assert "\n".join(parts) == message.body_text


@pytest.mark.parametrize(
    ("status", "description"),
    [(403, "Forbidden: bot was blocked by the user"), (400, "Bad Request: chat not found")],
)
def test_a_refusal_fails_the_message_with_telegrams_description(telegram, status, description):
    telegram.fail_next("sendMessage", status, description)
    message = reply()
    assert message_deliver(message_id=message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert message.delivery_error == f"Telegram refused the message: {description}"


@pytest.mark.parametrize(
    ("status", "description", "retry_after"),
    [(429, "Too Many Requests: retry after 7", 7), (502, "Bad Gateway", None)],
)
def test_rate_limits_and_server_errors_are_retried(telegram, status, description, retry_after):
    telegram.fail_next("sendMessage", status, description, retry_after)
    message = reply()
    with pytest.raises(DeliveryRetry, match=description):
        message_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.QUEUED and description in message.delivery_error
    assert message_deliver(message_id=message.pk) == DeliveryStatus.SENT  # the retry goes through


def test_an_unreachable_bot_api_is_retried(telegram, settings):
    settings.TELEGRAM_API_BASE = "http://127.0.0.1:9"  # nothing listens on the discard port
    message = reply()
    with pytest.raises(DeliveryRetry, match="no answer from the Bot API"):
        message_deliver(message_id=message.pk)


def test_without_a_bot_token_the_message_fails_and_says_why(telegram, settings):
    settings.TELEGRAM_BOT_TOKEN = ""
    message = reply()
    assert message_deliver(message_id=message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert "TELEGRAM_BOT_TOKEN is empty" in message.delivery_error
    assert telegram.requests == []


def test_a_base_url_without_scheme_fails_without_quoting_the_token(telegram, settings):
    settings.TELEGRAM_API_BASE = "api.telegram.org"
    message = reply()
    assert message_deliver(message_id=message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert "TELEGRAM_API_BASE must start with https://" in message.delivery_error
    assert TOKEN not in message.delivery_error
