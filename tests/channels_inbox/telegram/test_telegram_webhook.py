"""POST /inbound/telegram/: checked against the webhook secret, stored raw first, processed after
commit, each provider message stored once, media fetched from the (local) Bot API."""

from __future__ import annotations

import copy
import logging

import pytest

from tests.factories import IdentityFactory, TicketFactory
from tickets.models import Attachment, Identity, Message, RawInbound, RawInboundStatus, Ticket, TicketStatus

from .conftest import SECRET, TOKEN, corpus_update, post_update

pytestmark = pytest.mark.django_db


def text_update(update_id: int, text: str, *, user_id: int = 4242, message_id: int = 10, **user) -> dict:
    sender = {"id": user_id, "is_bot": False, "first_name": "Ana", **user}
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "from": sender,
            "chat": {"id": user_id, "first_name": "Ana", "type": "private"},
            "date": 1700000000,
            "text": text,
        },
    }


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x"])
def test_a_missing_or_wrong_secret_token_is_refused_and_nothing_is_stored(client, telegram, secret):
    response = post_update(client, text_update(1, "hello"), secret=secret)
    assert response.status_code == 403
    assert RawInbound.objects.count() == 0 and Message.objects.count() == 0


def test_without_a_configured_secret_everything_is_refused_with_a_log_line(client, telegram, settings, caplog):
    settings.TELEGRAM_WEBHOOK_SECRET = ""
    with caplog.at_level(logging.ERROR):
        response = post_update(client, text_update(1, "hello"), secret="")
    assert response.status_code == 403
    assert "TELEGRAM_WEBHOOK_SECRET is not set" in caplog.text
    assert RawInbound.objects.count() == 0


def test_the_update_is_stored_raw_before_processing_then_becomes_a_message(
    client, telegram, django_capture_on_commit_callbacks
):
    update = text_update(777, "My parcel never arrived", user_id=4242, message_id=31, last_name="Lima")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_update(client, update)
    assert response.status_code == 200 and response.content == b""
    raw = RawInbound.objects.get()
    assert raw.channel == "telegram" and raw.external_id == "update:777"
    assert raw.status == RawInboundStatus.RECEIVED and Message.objects.count() == 0

    for callback in callbacks:  # what the worker does after commit
        callback()
    raw.refresh_from_db()
    assert raw.status == RawInboundStatus.PROCESSED
    message = Message.objects.get()
    assert message.external_id == "4242:31" and message.body_text == "My parcel never arrived"
    assert message.ticket.subject == "My parcel never arrived" and message.ticket.channel == "telegram"
    identity = Identity.objects.get(kind="telegram")
    assert identity.value == "4242" and identity.customer.name == "Ana Lima"


def test_a_redelivered_update_stores_nothing_twice(client, telegram, django_capture_on_commit_callbacks):
    update = text_update(5, "Where is my refund?")
    for _attempt in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            assert post_update(client, update).status_code == 200
    assert RawInbound.objects.get().deliveries == 3
    assert Message.objects.count() == 1 and Ticket.objects.count() == 1


def test_the_same_message_in_another_update_is_stored_once(client, telegram, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_update(client, text_update(6, "Once only", message_id=50))
        post_update(client, text_update(7, "Once only", message_id=50))
    assert RawInbound.objects.count() == 2
    assert Message.objects.count() == 1
    assert RawInbound.objects.get(external_id="update:7").status == RawInboundStatus.DUPLICATE


def test_a_reused_update_id_with_other_content_is_not_mistaken_for_a_redelivery(
    client, telegram, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_update(client, text_update(8, "First", message_id=60))
        post_update(client, text_update(8, "Weeks later", message_id=61))
    assert sorted(Message.objects.values_list("body_text", flat=True)) == ["First", "Weeks later"]


def test_a_known_customer_writing_again_lands_on_their_open_ticket(
    client, telegram, django_capture_on_commit_callbacks
):
    identity = IdentityFactory(kind="telegram", value="4242")
    ticket = TicketFactory(channel="telegram", requester=identity.customer, status=TicketStatus.PENDING)
    with django_capture_on_commit_callbacks(execute=True):
        post_update(client, text_update(9, "Any news?", user_id=4242))
    message = Message.objects.get()
    assert message.ticket == ticket and message.author_customer == identity.customer
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN


def test_a_photo_is_fetched_in_its_largest_size_with_its_caption(client, telegram, django_capture_on_commit_callbacks):
    update = corpus_update("photo")
    telegram.files["SAAS"] = b"\xff\xd8\xff-largest-jpeg"  # 720x960: the most pixels of the three sizes
    with django_capture_on_commit_callbacks(execute=True):
        post_update(client, update)
    message = Message.objects.get()
    assert message.body_text == "asdasdasdasdasdasd"
    attachment = Attachment.objects.get(message=message)
    assert attachment.filename == "SAAS.bin" and attachment.content_type == "image/jpeg"
    assert attachment.file.read() == b"\xff\xd8\xff-largest-jpeg"
    get_file = telegram.calls("getFile")
    assert [call.json() for call in get_file] == [{"file_id": "SAAS"}]
    assert telegram.requests[-1].path == f"/file/bot{TOKEN}/documents/SAAS.bin"


def test_a_document_keeps_its_name_and_type(client, telegram, django_capture_on_commit_callbacks):
    update = corpus_update("document")
    file_id = update["message"]["document"]["file_id"]
    telegram.files[file_id] = b"%PDF-1.4 invoice"
    with django_capture_on_commit_callbacks(execute=True):
        post_update(client, update)
    attachment = Attachment.objects.get()
    assert (attachment.filename, attachment.content_type) == ("document.pdf", "application/pdf")
    assert attachment.file.read() == b"%PDF-1.4 invoice"


def test_a_file_the_bot_api_cannot_serve_is_named_on_the_message(client, telegram, django_capture_on_commit_callbacks):
    update = corpus_update("voice")  # the local server has no such file: getFile answers 400
    with django_capture_on_commit_callbacks(execute=True):
        post_update(client, update)
    message = Message.objects.get()
    assert Attachment.objects.count() == 0
    assert "Attachment not fetched: voice.ogg (Bad Request: invalid file_id)" in message.body_text
    assert message.metadata["attachments_failed"][0]["reason"] == "Bad Request: invalid file_id"


def test_location_and_contact_become_readable_text_and_metadata(client, telegram, django_capture_on_commit_callbacks):
    contact_update = corpus_update("contact")
    contact_update["message"]["message_id"] += 1  # both corpus files use the same chat and message id
    with django_capture_on_commit_callbacks(execute=True):
        post_update(client, corpus_update("location"))
        post_update(client, contact_update)
    location, contact = Message.objects.order_by("id")
    assert location.body_text.startswith("Location: 41.899977, 12.501028")
    assert location.metadata["location"] == {"latitude": 41.899977, "longitude": 12.501028}
    assert contact.body_text == "Contact: 911, 911"
    assert contact.metadata["contact"]["vcard"].startswith("BEGIN:VCARD")


def test_an_edit_is_stored_as_a_new_message_on_the_same_ticket(client, telegram, django_capture_on_commit_callbacks):
    edited = corpus_update("edited_message")
    original = copy.deepcopy(edited)
    original["update_id"] -= 1
    original["message"] = original.pop("edited_message")
    original["message"].pop("edit_date")
    original["message"]["text"] = "Edting this mesage"
    with django_capture_on_commit_callbacks(execute=True):
        post_update(client, original)
        post_update(client, edited)
    first, second = Message.objects.order_by("id")
    assert first.ticket_id == second.ticket_id
    assert first.body_text == "Edting this mesage"
    assert second.body_text == "(edited) Editing this message"
    assert second.external_id == "999999999:23762:edit:1584985245"
    assert second.metadata["edit_of"] == "999999999:23762"


def test_start_and_service_messages_open_no_ticket(client, telegram, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_update(client, text_update(20, "/start"))
        post_update(client, corpus_update("new_chat_members"))
        post_update(client, corpus_update("callback_query"))
    assert Ticket.objects.count() == 0
    assert set(RawInbound.objects.values_list("status", flat=True)) == {RawInboundStatus.IGNORED}


def test_the_bot_token_is_never_stored_or_logged(client, telegram, django_capture_on_commit_callbacks, caplog):
    update = corpus_update("voice")  # a failed fetch: the most likely place for a URL to leak
    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        post_update(client, update)
    message = Message.objects.get()
    stored = [message.body_text, str(message.metadata), str(RawInbound.objects.get().meta)]
    assert all(TOKEN not in text for text in stored)
    assert TOKEN not in caplog.text


def test_a_body_that_is_not_an_update_is_kept_and_marked_failed(client, telegram, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert post_update(client, b"{not json").status_code == 200
    raw = RawInbound.objects.get()
    assert raw.status == RawInboundStatus.FAILED and "JSONDecodeError" in raw.error
    assert bytes(raw.payload) == b"{not json" and Message.objects.count() == 0
