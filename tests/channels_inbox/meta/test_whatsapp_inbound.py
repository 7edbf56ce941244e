"""WhatsApp Cloud API deliveries: stored raw first (one row per delivery), processed after
commit into messages, media fetched through the Graph API with the token, statuses applied to
our messages, redeliveries stored once, and a number known by SMS kept on the same customer."""

from __future__ import annotations

import json
import time

import pytest

from channels_inbox.meta.whatsapp import whatsapp_parse
from tests.factories import IdentityFactory, TicketFactory, make_agent
from tickets.models import Attachment, Customer, DeliveryStatus, Message, RawInbound, RawInboundStatus, Ticket
from tickets.services.customers import customer_resolve
from tickets.services.tickets import ticket_reply

from .conftest import WHATSAPP_CORPUS, WHATSAPP_TOKEN, corpus, post_signed, wa_body, wa_text

pytestmark = [pytest.mark.django_db]

WA_ID = "5511912345678"


def deliver(client, payload, capture, *, execute=True):
    with capture(execute=execute):
        response = post_signed(client, payload)
    assert response.status_code == 200
    return response


def test_a_text_is_stored_raw_first_and_processed_after_commit(client, meta, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_signed(client, wa_body([wa_text("wamid.T1", "Minha internet caiu")]))
    assert response.status_code == 200
    raw = RawInbound.objects.get()
    assert (
        raw.channel == "whatsapp" and raw.external_id.startswith("sha256:") and raw.status == RawInboundStatus.RECEIVED
    )
    assert Message.objects.count() == 0
    for callback in callbacks:
        callback()
    raw.refresh_from_db()
    assert raw.status == RawInboundStatus.PROCESSED
    message = Message.objects.get()
    assert (message.channel, message.external_id, message.body_text) == ("whatsapp", "wamid.T1", "Minha internet caiu")
    customer = message.author_customer
    assert customer.name == "Ana Souza"
    identity = customer.identities.get()
    assert (identity.kind, identity.value) == ("whatsapp", "+" + WA_ID)
    assert message.metadata["wa_id"] == WA_ID and message.sent_at is not None


def test_a_batch_of_two_messages_is_one_raw_and_two_messages(client, meta, django_capture_on_commit_callbacks):
    deliver(
        client, wa_body([wa_text("wamid.B1", "one"), wa_text("wamid.B2", "two")]), django_capture_on_commit_callbacks
    )
    assert RawInbound.objects.count() == 1
    assert sorted(Message.objects.values_list("body_text", flat=True)) == ["one", "two"]
    assert Ticket.objects.count() == 1


def test_a_redelivery_stores_nothing_twice(client, meta, django_capture_on_commit_callbacks):
    payload = wa_body([wa_text("wamid.R1", "Twice?")])
    for _attempt in range(3):
        deliver(client, payload, django_capture_on_commit_callbacks)
    assert RawInbound.objects.get().deliveries == 3
    # the same message again, batched differently: a second raw, still one message
    deliver(
        client, wa_body([wa_text("wamid.R1", "Twice?"), wa_text("wamid.R2", "new")]), django_capture_on_commit_callbacks
    )
    assert RawInbound.objects.count() == 2
    assert Message.objects.filter(external_id="wamid.R1").count() == 1
    assert Message.objects.count() == 2 and Ticket.objects.count() == 1


def test_a_number_known_by_sms_lands_on_the_same_customer_and_ticket(client, meta, django_capture_on_commit_callbacks):
    sms_customer, _created = customer_resolve(kind="phone", value="+55 11 91234-5678")  # as SMS ingest does
    ticket = TicketFactory(channel="sms", requester=sms_customer)
    deliver(client, wa_body([wa_text("wamid.S1", "Same person, now on WhatsApp")]), django_capture_on_commit_callbacks)
    message = Message.objects.get()
    assert message.author_customer == sms_customer and message.ticket == ticket
    assert Customer.objects.count() == 1
    assert set(sms_customer.identities.values_list("kind", "value")) == {
        ("phone", "+" + WA_ID),
        ("whatsapp", "+" + WA_ID),
    }


def test_an_image_is_fetched_by_media_id_with_the_token(client, meta, django_capture_on_commit_callbacks):
    meta.add_media("998877", b"\xff\xd8JPEG-router", "image/jpeg")
    image = {
        "from": WA_ID,
        "id": "wamid.IMG",
        "timestamp": str(int(time.time())),
        "type": "image",
        "image": {"caption": "The lights", "mime_type": "image/jpeg", "sha256": "x", "id": "998877"},
    }
    deliver(client, wa_body([image]), django_capture_on_commit_callbacks)
    attachment = Attachment.objects.get()
    assert attachment.message.body_text == "The lights"
    assert attachment.content_type == "image/jpeg" and attachment.filename.endswith(".jpg")
    assert attachment.file.read() == b"\xff\xd8JPEG-router"
    info, download = meta.requests
    assert info.method == "GET" and info.path == "/v21.0/998877" and info.bearer == WHATSAPP_TOKEN
    assert download.path.startswith("/whatsapp_business/attachments/?mid=998877") and download.bearer == WHATSAPP_TOKEN


def test_a_document_keeps_its_filename_and_audio_is_fetched(client, meta, django_capture_on_commit_callbacks):
    meta.add_media("501", b"%PDF-1.4 invoice", "application/pdf")
    meta.add_media("502", b"OggS voice", "audio/ogg")
    now = str(int(time.time()))
    document = {
        "from": WA_ID,
        "id": "wamid.DOC",
        "timestamp": now,
        "type": "document",
        "document": {"filename": "invoice-42.pdf", "mime_type": "application/pdf", "id": "501"},
    }
    voice = {
        "from": WA_ID,
        "id": "wamid.VOICE",
        "timestamp": now,
        "type": "audio",
        "audio": {"mime_type": "audio/ogg; codecs=opus", "id": "502", "voice": True},
    }
    deliver(client, wa_body([document, voice]), django_capture_on_commit_callbacks)
    document_file = Attachment.objects.get(message__external_id="wamid.DOC")
    assert (document_file.filename, document_file.content_type) == ("invoice-42.pdf", "application/pdf")
    assert document_file.file.read() == b"%PDF-1.4 invoice"
    voice_file = Attachment.objects.get(message__external_id="wamid.VOICE")
    assert voice_file.filename.startswith("voice.") and voice_file.content_type == "audio/ogg; codecs=opus"
    assert voice_file.file.read() == b"OggS voice"


def test_media_that_cannot_be_fetched_is_named_on_the_message(client, meta, django_capture_on_commit_callbacks):
    sticker = {
        "from": WA_ID,
        "id": "wamid.GONE",
        "timestamp": str(int(time.time())),
        "type": "sticker",
        "sticker": {"mime_type": "image/webp", "id": "404404", "animated": False},
    }
    deliver(client, wa_body([sticker]), django_capture_on_commit_callbacks)
    message = Message.objects.get()
    assert "[Attachment not fetched: sticker-404404.webp" in message.body_text
    assert message.metadata["attachments_failed"][0]["media_id"] == "404404"
    assert Attachment.objects.count() == 0
    assert WHATSAPP_TOKEN not in message.body_text


def test_location_contacts_and_interactive_replies_become_text(client, meta, django_capture_on_commit_callbacks):
    now = str(int(time.time()))
    location = {
        "from": WA_ID,
        "id": "wamid.LOC",
        "timestamp": now,
        "type": "location",
        "location": {"latitude": 37.46, "longitude": -122.21, "name": "Facebook HQ", "address": "1 Hacker Way"},
    }
    contacts = {
        "from": WA_ID,
        "id": "wamid.CON",
        "timestamp": now,
        "type": "contacts",
        "contacts": [{"name": {"formatted_name": "Chandler Bing"}, "phones": [{"phone": "+1 555-555-5555"}]}],
    }
    button = {
        "from": WA_ID,
        "id": "wamid.BTN",
        "timestamp": now,
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes, confirm"}},
    }
    deliver(client, wa_body([location, contacts, button]), django_capture_on_commit_callbacks)
    texts = dict(Message.objects.values_list("external_id", "body_text"))
    assert texts["wamid.LOC"].startswith("[Location]\nFacebook HQ\n1 Hacker Way\n37.46, -122.21")
    assert texts["wamid.CON"] == "[Contact] Chandler Bing: +1 555-555-5555"
    assert texts["wamid.BTN"] == "Yes, confirm"


def test_a_reaction_to_a_known_message_is_a_note_and_others_are_ignored(
    client, meta, django_capture_on_commit_callbacks
):
    deliver(client, wa_body([wa_text("wamid.ORIG", "My order is late")]), django_capture_on_commit_callbacks)
    now = str(int(time.time()))
    reaction = {
        "from": WA_ID,
        "id": "wamid.REACT",
        "timestamp": now,
        "type": "reaction",
        "reaction": {"message_id": "wamid.ORIG", "emoji": "👍"},
    }
    stray = {
        "from": WA_ID,
        "id": "wamid.STRAY",
        "timestamp": now,
        "type": "reaction",
        "reaction": {"message_id": "wamid.UNKNOWN", "emoji": "😮"},
    }
    removed = {
        "from": WA_ID,
        "id": "wamid.UNREACT",
        "timestamp": now,
        "type": "reaction",
        "reaction": {"message_id": "wamid.ORIG", "emoji": ""},
    }
    deliver(client, wa_body([reaction, stray, removed]), django_capture_on_commit_callbacks)
    note = Message.objects.get(external_id="wamid.REACT")
    assert note.body_text == "(reacted 👍)" and note.ticket == Message.objects.get(external_id="wamid.ORIG").ticket
    assert not Message.objects.filter(external_id__in=["wamid.STRAY", "wamid.UNREACT"]).exists()
    assert Ticket.objects.count() == 1


def _outbound(wamid: str) -> Message:
    identity = IdentityFactory(kind="whatsapp", value="+" + WA_ID)
    ticket = TicketFactory(channel="whatsapp", requester=identity.customer)
    message = ticket_reply(ticket=ticket, author=make_agent("agent-wa"), body_text="On its way", channel="whatsapp")
    Message.objects.filter(pk=message.pk).update(external_id=wamid, delivery_status=DeliveryStatus.SENT)
    return message


def status(wamid: str, value: str, **extra) -> dict:
    return {"id": wamid, "status": value, "timestamp": str(int(time.time())), "recipient_id": WA_ID, **extra}


def test_statuses_move_our_message_to_delivered_and_read(client, meta, django_capture_on_commit_callbacks):
    message = _outbound("wamid.OUT1")
    deliver(client, wa_body(statuses=[status("wamid.OUT1", "delivered")]), django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.DELIVERED
    deliver(client, wa_body(statuses=[status("wamid.OUT1", "read")]), django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.READ
    assert Message.objects.count() == 1  # a status is not a message
    assert RawInbound.objects.filter(status=RawInboundStatus.IGNORED).count() == 2


def test_a_failed_status_shows_metas_error_title(client, meta, django_capture_on_commit_callbacks):
    message = _outbound("wamid.OUT2")
    error = {"code": 131026, "title": "Message undeliverable", "error_data": {"details": "Receiver is incapable"}}
    deliver(
        client, wa_body(statuses=[status("wamid.OUT2", "failed", errors=[error])]), django_capture_on_commit_callbacks
    )
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.FAILED
    assert message.delivery_error == "WhatsApp error 131026: Message undeliverable (Receiver is incapable)"


def corpus_bodies() -> list[tuple[str, dict]]:
    if not WHATSAPP_CORPUS.is_dir():
        return []
    return [
        (f"{path.stem}/{name}", body)
        for path in sorted(WHATSAPP_CORPUS.glob("*.json"))
        for name, body in json.loads(path.read_text()).items()
    ]


def test_every_whatsapp_corpus_body_parses_without_crashing(meta):
    bodies = corpus_bodies()
    if not bodies:
        pytest.skip(f"shared WhatsApp corpus not present at {WHATSAPP_CORPUS}")
    assert len(bodies) >= 70
    parsed = {name: whatsapp_parse(body) for name, body in bodies}
    assert parsed["message/text"][0].body_text == "Body Text"
    assert parsed["message/text"][0].sender.name == "Test Name"
    assert parsed["message/chosen_location"][0].body_text.startswith("[Location]\nFacebook HQ")
    assert "[Attachment not fetched" in parsed["message/image"][0].body_text  # media 65463453 unknown here
    assert parsed["callback_button/quick_reply"][0].body_text
    assert parsed["message/reaction"] == []  # reacts to a message this desk never saw
    assert parsed["message/unsupported"][0].body_text.startswith("[A WhatsApp message this help desk cannot show")
    for ignored in (
        "account_update",
        "template_status_update",
        "outgoing_message",
        "deleted_message",
        "message_status",
    ):
        assert all(not items for name, items in parsed.items() if name.startswith(ignored + "/")), ignored


def test_the_corpus_text_message_goes_through_the_webhook(client, meta, django_capture_on_commit_callbacks):
    body = corpus(WHATSAPP_CORPUS, "message.json")["text"]
    deliver(client, body, django_capture_on_commit_callbacks)
    message = Message.objects.get()
    assert message.external_id == "wamid.xyzxyz" and message.author_customer.name == "Test Name"
