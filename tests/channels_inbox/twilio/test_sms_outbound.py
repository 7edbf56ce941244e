"""Agent replies by SMS go out through Twilio's Messages API (here a local server speaking it);
status callbacks move the message on; refusals fail it with Twilio's reason; opted-out
customers are not texted."""

from __future__ import annotations

import pytest

from tests.factories import IdentityFactory, TicketFactory, make_agent
from tickets.models import DeliveryStatus, Event, Message
from tickets.outbound import DeliveryRetry
from tickets.services.delivery import message_deliver
from tickets.services.tickets import ticket_reply

from .conftest import ACCOUNT_SID, AUTH_TOKEN, DESK_NUMBER, STATUS_URL, post_signed

pytestmark = pytest.mark.django_db


def reply(text: str = "Your technician comes at 10:00.", number: str = "+14155550100", **customer) -> Message:
    identity = IdentityFactory(kind="phone", value=number, customer__consent_sms=customer.get("consent_sms", True))
    ticket = TicketFactory(channel="sms", requester=identity.customer)
    return ticket_reply(ticket=ticket, author=make_agent(f"agent{number[-4:]}"), body_text=text, channel="sms")


def sent_message(twilio) -> Message:
    message = reply()
    assert message_deliver(message_id=message.pk) == DeliveryStatus.SENT
    message.refresh_from_db()
    return message


def test_a_reply_is_posted_to_the_messages_api(twilio, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the delivery task, in-process
        message = reply()
    (call,) = twilio.requests
    assert call.method == "POST" and call.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert call.basic_auth() == (ACCOUNT_SID, AUTH_TOKEN)
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.form() == {
        "To": "+14155550100",
        "From": DESK_NUMBER,
        "Body": "Your technician comes at 10:00.",
        "StatusCallback": "http://127.0.0.1:8000" + STATUS_URL,
    }
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.SENT and message.external_id == f"SM{1:032x}"


def test_a_messaging_service_and_the_public_base_url_are_used_when_set(twilio, settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "0" * 32
    settings.TWILIO_WEBHOOK_BASE_URL = "https://desk.example.com"
    sent_message(twilio)
    form = twilio.requests[0].form()
    assert form["MessagingServiceSid"] == "MG" + "0" * 32 and "From" not in form
    assert form["StatusCallback"] == "https://desk.example.com" + STATUS_URL


def test_a_customer_who_texted_stop_is_not_texted(twilio):
    message = reply(consent_sms=False)
    assert message_deliver(message_id=message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert message.delivery_error.startswith("Not sent: the customer has opted out of SMS (they texted STOP).")
    assert twilio.requests == []


def test_a_refusal_fails_the_message_with_twilios_message_and_code(twilio):
    twilio.fail_next(400, 21211, "The 'To' number +1415555 is not a valid phone number.")
    message = reply()
    assert message_deliver(message_id=message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert message.delivery_error == (
        "Twilio refused the SMS: The 'To' number +1415555 is not a valid phone number. (error 21211)"
    )


@pytest.mark.parametrize(("status", "code"), [(429, 20429), (503, 20503)])
def test_rate_limits_and_outages_are_retried(twilio, status, code):
    twilio.fail_next(status, code, "Too Many Requests" if status == 429 else "Service Unavailable")
    message = reply()
    with pytest.raises(DeliveryRetry, match=f"error {code}"):
        message_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.QUEUED
    assert message_deliver(message_id=message.pk) == DeliveryStatus.SENT


def test_an_unreachable_api_is_retried(twilio, settings):
    settings.TWILIO_API_BASE = "http://127.0.0.1:9"
    with pytest.raises(DeliveryRetry, match="no answer from Twilio"):
        message_deliver(message_id=reply().pk)


def test_without_a_sender_number_the_message_fails_and_says_why(twilio, settings):
    settings.TWILIO_FROM_NUMBER = ""
    message = reply()
    assert message_deliver(message_id=message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert "TWILIO_FROM_NUMBER" in message.delivery_error and twilio.requests == []


# --- status callbacks ---------------------------------------------------------------------------


def callback(client, sid: str, status: str, **extra: str):
    params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status}
    params.update(AccountSid=ACCOUNT_SID, From=DESK_NUMBER, To="+14155550100", ApiVersion="2010-04-01", **extra)
    return post_signed(client, STATUS_URL, params)


def test_status_callbacks_move_the_message_to_delivered(client, twilio):
    message = sent_message(twilio)
    assert callback(client, message.external_id, "queued").status_code == 204
    assert callback(client, message.external_id, "delivered").status_code == 204
    callback(client, message.external_id, "sent")  # late and out of order: ignored
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.DELIVERED
    assert Event.objects.filter(verb="delivery_status", new_value=DeliveryStatus.DELIVERED).count() == 1


@pytest.mark.parametrize(
    ("status", "code", "reason"),
    [
        ("undelivered", "30003", "Twilio error 30003: the destination phone is unreachable"),
        ("failed", "30007", "Twilio error 30007: the carrier filtered the message as spam."),
        ("failed", "39999", "Twilio error 39999: see https://www.twilio.com/docs/api/errors/39999."),
    ],
)
def test_failed_and_undelivered_show_twilios_code_and_a_readable_reason(client, twilio, status, code, reason):
    message = sent_message(twilio)
    assert callback(client, message.external_id, status, ErrorCode=code).status_code == 204
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.FAILED
    assert message.delivery_error.startswith(reason)
    assert Event.objects.get(verb="delivery_failed").data == {"reason": message.delivery_error}


def test_a_callback_for_a_message_that_is_not_ours_is_accepted_and_ignored(client, twilio):
    assert callback(client, "SM" + "f" * 32, "delivered").status_code == 204
    assert Message.objects.count() == 0
