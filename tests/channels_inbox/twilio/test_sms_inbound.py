"""POST /inbound/twilio/sms/: stored raw under its MessageSid, answered with empty TwiML,
processed after commit onto the customer's ticket, MMS media fetched with the account's
credentials, STOP / START / HELP applied to the customer's SMS consent."""

from __future__ import annotations

import pytest

from tests.factories import IdentityFactory, TicketFactory
from tickets.models import Attachment, Customer, Event, Message, RawInbound, RawInboundStatus, Ticket

from .conftest import ACCOUNT_SID, AUTH_TOKEN, SMS_URL, post_signed, sms_params

pytestmark = pytest.mark.django_db

SID = "SM" + "a" * 32


def text(client, sid: str, body: str, sender: str = "+14155550100", **extra: str):
    return post_signed(client, SMS_URL, sms_params(sid, body, sender, **extra))


def test_the_sms_is_stored_raw_first_and_answered_with_empty_twiml(client, twilio, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = text(client, SID, "My router blinks red")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content == b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
    raw = RawInbound.objects.get()
    assert raw.channel == "sms" and raw.external_id == SID and raw.status == RawInboundStatus.RECEIVED
    assert b"Body=My+router+blinks+red" in bytes(raw.payload)
    assert Message.objects.count() == 0  # nothing parsed in the request

    for callback in callbacks:  # what the worker does after commit
        callback()
    raw.refresh_from_db()
    assert raw.status == RawInboundStatus.PROCESSED
    message = Message.objects.get()
    assert (message.channel, message.external_id, message.body_text) == ("sms", SID, "My router blinks red")
    assert message.author_customer.identities.get().value == "+14155550100"
    assert message.metadata["to"] == "+15005550006"


def test_a_redelivered_sms_is_stored_once(client, twilio, django_capture_on_commit_callbacks):
    for _attempt in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            assert text(client, SID, "Twice?").status_code == 200
    assert RawInbound.objects.get().deliveries == 3
    assert Message.objects.count() == 1 and Ticket.objects.count() == 1


def test_a_text_from_a_known_number_lands_on_the_customers_open_ticket(
    client, twilio, django_capture_on_commit_callbacks
):
    identity = IdentityFactory(kind="phone", value="+14155550100")
    ticket = TicketFactory(channel="sms", requester=identity.customer)
    with django_capture_on_commit_callbacks(execute=True):
        text(client, SID, "Still broken", sender="+1 (415) 555-0100")
    message = Message.objects.get()
    assert message.ticket == ticket and message.author_customer == identity.customer
    assert Customer.objects.count() == 1


def test_mms_media_is_fetched_with_the_accounts_credentials(client, twilio, django_capture_on_commit_callbacks):
    url = twilio.media_url("ME" + "b" * 32, b"\x89PNG-broken-screen", "image/png")
    extra = {"NumMedia": "1", "MediaUrl0": url, "MediaContentType0": "image/png"}
    with django_capture_on_commit_callbacks(execute=True):
        text(client, SID, "See the photo", **extra)
    attachment = Attachment.objects.get()
    assert attachment.message.body_text == "See the photo"
    assert attachment.filename == "ME" + "b" * 32 + ".png" and attachment.content_type == "image/png"
    assert attachment.file.read() == b"\x89PNG-broken-screen"
    (fetch,) = twilio.requests
    assert fetch.method == "GET" and fetch.path.endswith("/Media/ME" + "b" * 32)
    assert fetch.basic_auth() == (ACCOUNT_SID, AUTH_TOKEN)


def test_media_that_cannot_be_fetched_is_named_on_the_message(client, twilio, django_capture_on_commit_callbacks):
    extra = {"NumMedia": "1", "MediaUrl0": twilio.url + "/gone/ME404", "MediaContentType0": "image/jpeg"}
    with django_capture_on_commit_callbacks(execute=True):
        text(client, SID, "", **extra)
    message = Message.objects.get()
    assert Attachment.objects.count() == 0
    assert "Attachment not fetched: ME404.jpg (The requested resource was not found)" in message.body_text
    assert AUTH_TOKEN not in str(message.metadata)


def test_credentials_only_go_to_twilios_own_host(client, twilio, settings, django_capture_on_commit_callbacks):
    url = twilio.media_url("ME" + "c" * 32, b"x", "image/gif")
    settings.TWILIO_API_BASE = "https://api.twilio.com"  # the media host is now someone else
    settings.NETGUARD_ALLOW = ["127.0.0.1"]  # ... that the SSRF guard lets us reach in this test
    with django_capture_on_commit_callbacks(execute=True):
        text(client, SID, "gif", NumMedia="1", MediaUrl0=url, MediaContentType0="image/gif")
    assert twilio.requests[0].basic_auth() is None


@pytest.mark.parametrize("word", ["STOP", "stop", " Unsubscribe ", "STOPALL", "CANCEL", "END", "QUIT"])
def test_stop_turns_sms_consent_off_and_is_recorded(client, twilio, word, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        text(client, SID, word)
    message = Message.objects.get()  # the agent sees it on the ticket
    customer = message.author_customer
    assert customer.consent_sms is False
    assert message.metadata["sms_keyword"] == "stop" and message.metadata["consent_sms"] is False
    event = Event.objects.get(verb="sms_opted_out")
    assert event.actor_kind == "customer" and event.actor_customer == customer
    assert event.data["message_sid"] == SID and event.new_value == {"consent_sms": False}
    change = Event.objects.get(verb="changed", field="consent_sms")
    assert (change.old_value, change.new_value) == (True, False)


@pytest.mark.parametrize("word", ["START", "yes", "Unstop"])
def test_start_turns_sms_consent_back_on(client, twilio, word, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        text(client, SID, "STOP")
        text(client, "SM" + "b" * 32, word)
    customer = Customer.objects.get()
    assert customer.consent_sms is True
    assert list(Event.objects.filter(verb__startswith="sms_").order_by("id").values_list("verb", flat=True)) == [
        "sms_opted_out",
        "sms_opted_in",
    ]
    assert Message.objects.count() == 2


@pytest.mark.parametrize("word", ["HELP", "info"])
def test_help_is_recorded_without_changing_consent(client, twilio, word, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        text(client, SID, word)
    assert Customer.objects.get().consent_sms is True
    assert Event.objects.get(verb="sms_help_requested").data["keyword"] == word
    assert Message.objects.get().metadata["sms_keyword"] == "help"


def test_a_sentence_containing_stop_is_an_ordinary_message(client, twilio, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        text(client, SID, "Please stop the second delivery")
    assert Customer.objects.get().consent_sms is True
    assert "sms_keyword" not in Message.objects.get().metadata


def test_a_replayed_stop_after_a_start_changes_nothing(client, twilio, django_capture_on_commit_callbacks):
    from channels_inbox.services import raw_inbound_process

    with django_capture_on_commit_callbacks(execute=True):
        text(client, SID, "STOP")
        text(client, "SM" + "b" * 32, "START")
    raw_inbound_process(raw_id=RawInbound.objects.get(external_id=SID).pk)  # e.g. `inbound_replay --all`
    assert Customer.objects.get().consent_sms is True
    assert Event.objects.filter(verb="sms_opted_out").count() == 1


def test_a_request_without_message_sid_is_refused(client, twilio):
    params = sms_params("", "no sid")
    assert post_signed(client, SMS_URL, params).status_code == 400
    assert RawInbound.objects.count() == 0
