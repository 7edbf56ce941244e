"""Every real Telegram update in the shared corpus (nutgram's fixtures) through the webhook:
nothing crashes, message updates with something to read become exactly one message (with
their file fetched), everything else is kept raw and marked ignored, and a redelivery stores
nothing twice. Skipped when ../shared/corpora is not beside the project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tickets.models import Attachment, Message, RawInbound, RawInboundStatus

from .conftest import CORPUS, corpus_files, post_update

pytestmark = pytest.mark.django_db

READABLE = {"text", "caption", "photo", "document", "audio", "voice", "video", "video_note", "animation"}
READABLE |= {"sticker", "location", "venue", "contact", "poll", "dice"}
FILES = {"photo", "document", "audio", "voice", "video", "video_note", "animation"}


def expected_external_id(update: dict) -> str | None:
    """The message id a customer message in this update must be stored under, or None when the
    update is not a customer message (service messages, queries, payments, bots, /start)."""
    edited = "edited_message" in update
    message = update.get("edited_message" if edited else "message")
    if not isinstance(message, dict) or not (set(message) & READABLE):
        return None
    sender = message.get("from") or {}
    if sender.get("is_bot") or str(message.get("text", "")).split(" ")[0] == "/start":
        return None
    external_id = f"{message['chat']['id']}:{message['message_id']}"
    return f"{external_id}:edit:{message['edit_date']}" if edited else external_id


@pytest.fixture(params=corpus_files() or [None], ids=lambda p: p.stem if p else "no-corpus")
def corpus_file(request) -> Path:
    if request.param is None:
        pytest.skip(f"shared Telegram corpus not present at {CORPUS}")
    return request.param


def test_each_update_is_taken_once_and_messages_become_messages(
    client, telegram, corpus_file, django_capture_on_commit_callbacks
):
    telegram.serve_any_file = True
    update = json.loads(corpus_file.read_text())
    for _delivery in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            assert post_update(client, update).status_code == 200

    raw = RawInbound.objects.get()
    assert raw.external_id == f"update:{update['update_id']}" and raw.deliveries == 2
    assert raw.status != RawInboundStatus.FAILED, raw.error
    external_id = expected_external_id(update)
    if external_id is None:
        assert raw.status == RawInboundStatus.IGNORED
        assert Message.objects.count() == 0
        return
    assert raw.status == RawInboundStatus.PROCESSED
    message = Message.objects.get()
    assert message.external_id == external_id and message.channel == "telegram"
    assert message.body_text.strip() or message.attachments.exists()
    content = update.get("message") or update.get("edited_message")
    if set(content) & FILES:
        assert Attachment.objects.filter(message=message).count() == 1
        assert "attachments_failed" not in message.metadata
