"""Messenger (object "page") and Instagram (object "instagram") deliveries: messaging events
into messages under the sender's PSID, attachments fetched by URL, delivery and read receipts
applied to our messages, replies through the Send API (here a local Graph server)."""

from __future__ import annotations

import pytest

from channels_inbox.meta.messenger import INSTAGRAM, MESSENGER, page_parse
from tests.factories import IdentityFactory, TicketFactory, make_agent
from tickets.models import Attachment, DeliveryStatus, Message, RawInbound, Ticket
from tickets.services.delivery import message_deliver
from tickets.services.tickets import ticket_reply

from .conftest import INSTAGRAM_TOKEN, MESSENGER_CORPUS, PAGE_ID, PAGE_TOKEN, corpus, page_body, post_signed

pytestmark = [pytest.mark.django_db]

PSID = "3383290475046708"
NOW_MS = 1_800_000_000_000


def text_event(mid: str, text: str, *, psid: str = PSID, **message) -> dict:
    return {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": NOW_MS,
        "message": {"mid": mid, "text": text, **message},
    }


def deliver(client, payload, capture):
    with capture(execute=True):
        assert post_signed(client, payload).status_code == 200


def test_the_corpus_events_parse(meta):
    events = corpus(MESSENGER_CORPUS, "messaging_events.json")["events"]
    items = page_parse(MESSENGER, page_body(list(events.values())))
    (item,) = items
    assert item.body_text == "facebook message" and item.external_id.startswith("m_KXGKDUpO6")
    assert (item.sender.kind, item.sender.value) == ("messenger", PSID)


def test_the_corpus_text_goes_through_the_webhook(client, meta, django_capture_on_commit_callbacks):
    event = corpus(MESSENGER_CORPUS, "messaging_events.json")["events"]["incoming_text"]
    deliver(client, page_body([event]), django_capture_on_commit_callbacks)
    raw = RawInbound.objects.get()
    assert raw.channel == "messenger" and raw.external_id.startswith("sha256:")
    message = Message.objects.get()
    assert (message.channel, message.body_text) == ("messenger", "facebook message")
    assert message.author_customer.identities.get().value == PSID


def test_a_redelivery_stores_nothing_twice(client, meta, django_capture_on_commit_callbacks):
    payload = page_body([text_event("m_1", "hello")])
    for _attempt in range(2):
        deliver(client, payload, django_capture_on_commit_callbacks)
    assert RawInbound.objects.get().deliveries == 2 and Message.objects.count() == 1


def test_attachments_are_fetched_by_url_and_echoes_ignored(client, meta, django_capture_on_commit_callbacks):
    url = meta.cdn_url("photo_123.jpg", b"\xff\xd8cdn-photo", "image/jpeg")
    with_image = text_event("m_2", "", attachments=[{"type": "image", "payload": {"url": url}}])
    with_image["message"].pop("text")
    echo = {
        "sender": {"id": PAGE_ID},
        "recipient": {"id": PSID},
        "message": {"mid": "m_echo", "text": "ours", "is_echo": True},
    }
    location = text_event(
        "m_3", "", attachments=[{"type": "location", "payload": {"coordinates": {"lat": 1.5, "long": 2.5}}}]
    )
    deliver(client, page_body([with_image, echo, location]), django_capture_on_commit_callbacks)
    attachment = Attachment.objects.get()
    assert attachment.filename == "photo_123.jpg" and attachment.content_type == "image/jpeg"
    assert attachment.file.read() == b"\xff\xd8cdn-photo"
    assert "Authorization" not in meta.requests[0].headers  # CDN URLs are signed; no token sent
    assert Message.objects.get(external_id="m_3").body_text == "[Location] 1.5, 2.5"
    assert not Message.objects.filter(external_id="m_echo").exists()


def _sent(mid: str, psid: str = PSID) -> Message:
    identity = IdentityFactory(kind="messenger", value=psid)
    ticket = TicketFactory(channel="messenger", requester=identity.customer)
    message = ticket_reply(ticket=ticket, author=make_agent("agent-fb"), body_text="Hi!", channel="messenger")
    Message.objects.filter(pk=message.pk).update(external_id=mid, delivery_status=DeliveryStatus.SENT)
    return message


def test_delivery_and_read_receipts_update_our_messages(client, meta, django_capture_on_commit_callbacks):
    message = _sent("m_OUT9")
    delivery = {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE_ID},
        "delivery": {"mids": ["m_OUT9"], "watermark": NOW_MS},
    }
    deliver(client, page_body([delivery]), django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.DELIVERED
    read = {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "read": {"watermark": NOW_MS}}
    deliver(client, page_body([read]), django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.READ
    assert Message.objects.count() == 1


def test_a_reply_goes_through_the_send_api(client, meta, django_capture_on_commit_callbacks):
    deliver(client, page_body([text_event("m_in", "Where is my parcel?")]), django_capture_on_commit_callbacks)
    ticket = Ticket.objects.get()
    message = ticket_reply(
        ticket=ticket, author=make_agent("agent-fb"), body_text="It ships today.", channel="messenger"
    )
    assert message_deliver(message_id=message.pk) == DeliveryStatus.SENT
    (call,) = meta.posts()
    assert call.path == "/v21.0/me/messages" and call.bearer == PAGE_TOKEN
    assert "access_token" not in call.path
    assert call.json() == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "It ships today."},
    }
    message.refresh_from_db()
    assert message.external_id == "m_OUT1"


def test_metas_window_refusal_is_shown_on_the_ticket(client, meta, django_capture_on_commit_callbacks):
    deliver(client, page_body([text_event("m_in", "Hello?")]), django_capture_on_commit_callbacks)
    message = ticket_reply(
        ticket=Ticket.objects.get(), author=make_agent("agent-fb"), body_text="Late", channel="messenger"
    )
    meta.fail_next(400, 10, "This message is sent outside of allowed window.", subcode=2018278)
    assert message_deliver(message_id=message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert "outside Messenger's 24-hour messaging window" in message.delivery_error


def test_instagram_messages_come_in_and_replies_go_out(client, meta, django_capture_on_commit_callbacks):
    deliver(
        client,
        page_body([text_event("aWdfZAG1", "Do you ship to Lisbon?", psid="17841400000000001")], obj="instagram"),
        django_capture_on_commit_callbacks,
    )
    inbound = Message.objects.get()
    assert inbound.channel == "instagram"
    assert (inbound.author_customer.identities.get().kind, inbound.body_text) == ("instagram", "Do you ship to Lisbon?")
    message = ticket_reply(ticket=inbound.ticket, author=make_agent("agent-ig"), body_text="Yes!", channel="instagram")
    assert message_deliver(message_id=message.pk) == DeliveryStatus.SENT
    (call,) = meta.posts()
    assert call.bearer == INSTAGRAM_TOKEN and call.json()["recipient"] == {"id": "17841400000000001"}
    assert page_parse(INSTAGRAM, page_body([], obj="instagram")) == []
