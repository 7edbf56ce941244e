"""A reply's attachments go to Telegram after its text: images with sendPhoto, other files with
sendDocument, uploaded as multipart/form-data to the (local) Bot API with their names."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile

from tests.factories import IdentityFactory, TicketFactory, make_agent
from tickets.models import Attachment, DeliveryStatus, Message
from tickets.services.delivery import message_deliver
from tickets.services.tickets import ticket_reply

from .bot_api_server import multipart_fields

pytestmark = pytest.mark.django_db

USER_ID = "424242"


def attach(message: Message, name: str, content: bytes, content_type: str) -> None:
    digest = hashlib.sha256(content).hexdigest()
    attachment = Attachment(message=message, filename=name, content_type=content_type, size=len(content), sha256=digest)
    attachment.file.save(digest, ContentFile(content), save=False)
    attachment.save()


def reply(text: str) -> Message:
    identity = IdentityFactory(kind="telegram", value=USER_ID)
    ticket = TicketFactory(channel="telegram", requester=identity.customer)
    return ticket_reply(ticket=ticket, author=make_agent("tg-files"), body_text=text, channel="telegram")


def test_photos_and_documents_follow_the_text(telegram):
    message = reply("Here you go")
    attach(message, "screenshot.png", b"\x89PNG fake", "image/png")
    attach(message, "manual.pdf", b"%PDF-1.4 manual", "application/pdf")
    assert message_deliver(message_id=message.pk) == DeliveryStatus.SENT

    assert [call.json()["text"] for call in telegram.calls("sendMessage")] == ["Here you go"]
    (photo,) = telegram.calls("sendPhoto")
    fields = multipart_fields(photo.body, photo.headers["Content-Type"])
    assert fields["chat_id"][0] == USER_ID
    assert fields["photo"] == (b"\x89PNG fake", {"filename": "screenshot.png", "content_type": "image/png"})
    (document,) = telegram.calls("sendDocument")
    fields = multipart_fields(document.body, document.headers["Content-Type"])
    assert fields["document"][0] == b"%PDF-1.4 manual" and fields["document"][1]["filename"] == "manual.pdf"
    message.refresh_from_db()
    assert message.external_id == f"{USER_ID}:9001"  # the text's id


def test_a_refused_upload_fails_the_message_with_telegrams_reason(telegram):
    message = reply("File attached")
    attach(message, "big.zip", b"PK zip", "application/zip")
    telegram.fail_next("sendDocument", 400, "Bad Request: file is too big")
    assert message_deliver(message_id=message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert message.delivery_error == "Telegram refused the message: Bad Request: file is too big"
