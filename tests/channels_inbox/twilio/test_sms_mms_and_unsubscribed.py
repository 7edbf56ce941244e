"""Outbound MMS (attachments as signed MediaUrl links Twilio fetches) and Twilio error 21610:
the recipient unsubscribed, so their SMS consent is withdrawn with a clear reason on the ticket."""

from __future__ import annotations

import hashlib
import urllib.parse

import pytest
from django.core.files.base import ContentFile

from tests.factories import IdentityFactory, TicketFactory, make_agent
from tickets.models import Attachment, Customer, DeliveryStatus, Event, Message
from tickets.services.delivery import message_deliver
from tickets.services.tickets import ticket_reply

from .conftest import STATUS_URL, post_signed

pytestmark = pytest.mark.django_db

PHONE = "+14155550100"


def reply(text: str = "Here is the invoice.") -> Message:
    identity = IdentityFactory(kind="phone", value=PHONE)
    ticket = TicketFactory(channel="sms", requester=identity.customer)
    return ticket_reply(ticket=ticket, author=make_agent("mms-agent"), body_text=text, channel="sms")


def attach(message: Message, name: str, content: bytes, content_type: str) -> Attachment:
    digest = hashlib.sha256(content).hexdigest()
    attachment = Attachment(message=message, filename=name, content_type=content_type, size=len(content), sha256=digest)
    attachment.file.save(f"{digest}", ContentFile(content), save=False)
    attachment.save()
    return attachment


def test_attachments_go_out_as_mms_media_urls_twilio_can_fetch(twilio, client):
    message = reply()
    pdf = attach(message, "invoice.pdf", b"%PDF-1.4 invoice", "application/pdf")
    attach(message, "photo.jpg", b"\xff\xd8\xff photo", "image/jpeg")
    assert message_deliver(message_id=message.pk) == DeliveryStatus.SENT
    fields = urllib.parse.parse_qsl(twilio.requests[0].body.decode())
    urls = [value for name, value in fields if name == "MediaUrl"]
    assert len(urls) == 2 and all(url.startswith("http://127.0.0.1:8000/inbound/media/") for url in urls)
    assert dict(fields)["Body"] == "Here is the invoice."

    # What Twilio fetches: the file, as a download, without logging in.
    path = urllib.parse.urlsplit(urls[0]).path
    response = client.get(path)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 invoice"
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"] and pdf.filename in response["Content-Disposition"]
    # A tampered token, or an inbound message's attachment, is not served.
    assert client.get(path[:-3] + "xyz/").status_code == 404


def test_error_21610_withdraws_sms_consent_with_a_clear_reason(twilio):
    twilio.fail_next(400, 21610, "Attempt to send to unsubscribed recipient")
    message = reply()
    assert message_deliver(message_id=message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert message.delivery_error.startswith(
        "Not sent: Twilio error 21610, the customer has unsubscribed from SMS (they replied STOP to our number)."
    )
    customer = Customer.objects.get()
    assert customer.consent_sms is False
    event = Event.objects.get(object_type="customer", verb="sms_opted_out")
    assert event.data["reason"] == "twilio_21610" and event.actor_kind == "system"

    # The next reply is not even tried.
    second = ticket_reply(ticket=message.ticket, author=message.author_user, body_text="Hello?", channel="sms")
    assert message_deliver(message_id=second.pk) == DeliveryStatus.FAILED
    assert len(twilio.requests) == 1


def test_a_21610_status_callback_withdraws_consent_too(twilio, client):
    message = reply()
    assert message_deliver(message_id=message.pk) == DeliveryStatus.SENT
    message.refresh_from_db()
    params = {
        "MessageSid": message.external_id,
        "MessageStatus": "failed",
        "ErrorCode": "21610",
        "To": PHONE,
        "AccountSid": "AC",
    }
    assert post_signed(client, STATUS_URL, params).status_code == 204
    message.refresh_from_db()
    assert message.delivery_status == "failed" and "error 21610" in message.delivery_error
    assert Customer.objects.get().consent_sms is False
