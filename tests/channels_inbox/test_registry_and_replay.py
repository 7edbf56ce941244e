"""Adapters register once per channel; a payload a buggy parser chokes on is kept and can be
replayed after the fix, without storing anything twice.

The adapter here is a small JSON one written for the test: real adapters live in their
channel sub-packages and have their own provider fixtures."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from channels_inbox import registry
from channels_inbox.services import raw_inbound_process
from tickets.inbound import InboundMessage, InboundSender
from tickets.models import Message, RawInbound, RawInboundStatus
from tickets.services.ingest import raw_inbound_store

pytestmark = pytest.mark.django_db


class JsonAdapter(registry.ChannelAdapter):
    key = "api"
    buggy = False

    def parse(self, raw):
        data = json.loads(bytes(raw.payload))
        if self.buggy:
            raise ValueError("parser bug: 'from' field misread")
        return [
            InboundMessage(
                channel="api",
                sender=InboundSender("email", data["from"]),
                body_text=data["text"],
                external_id=data["id"],
            )
        ]


@pytest.fixture
def adapter():
    instance = registry.register(JsonAdapter())
    yield instance
    registry.unregister("api")


def store(payload: dict):
    return raw_inbound_store(channel="api", payload=json.dumps(payload).encode(), external_id=payload["id"])[0]


def test_one_adapter_per_channel(adapter):
    with pytest.raises(ValueError, match="already registered"):
        registry.register(JsonAdapter())
    bogus = JsonAdapter()
    bogus.key = "carrier-pigeon"
    with pytest.raises(ValueError, match="not a channel"):
        registry.register(bogus)


def test_a_parser_bug_keeps_the_payload_and_a_replay_ingests_it_once(adapter, capsys):
    adapter.buggy = True
    raw = store({"id": "evt-1", "from": "kim@example.com", "text": "My order is late"})
    assert raw_inbound_process(raw_id=raw.pk) == []
    raw.refresh_from_db()
    assert raw.status == RawInboundStatus.FAILED and "parser bug" in raw.error
    assert Message.objects.count() == 0

    adapter.buggy = False  # the fix
    call_command("inbound_replay")
    raw.refresh_from_db()
    assert raw.status == RawInboundStatus.PROCESSED
    assert list(Message.objects.values_list("body_text", flat=True)) == ["My order is late"]
    assert "1 new message(s), 0 still failing" in capsys.readouterr().out

    call_command("inbound_replay", "--all")  # replaying again stores nothing new
    assert Message.objects.count() == 1


def test_a_payload_for_a_channel_without_adapter_fails_readably():
    raw, _ = raw_inbound_store(channel="api", payload=b"{}", external_id="CA1")
    raw_inbound_process(raw_id=raw.pk)
    raw.refresh_from_db()
    assert raw.status == RawInboundStatus.FAILED
    assert "No adapter is registered for channel 'api'" in raw.error
    assert RawInbound.objects.count() == 1
