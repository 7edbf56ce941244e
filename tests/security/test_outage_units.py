"""Fast checks of the outage answer (helpdesk/outage.py) and the recovery sweep
(ops/recovery.py); the real outages are in test_outage_postgres.py and test_outage_redis.py."""

from __future__ import annotations

import datetime as dt

import pytest
import redis.exceptions
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from accounts.services import lockout
from apitokens.services import api_token_create
from ops import recovery
from tests.factories import IdentityFactory, TicketFactory, make_agent
from tickets.models import DeliveryStatus, Message, RawInboundStatus
from tickets.services.ingest import raw_inbound_store
from tickets.services.tickets import ticket_reply

pytestmark = pytest.mark.django_db


def test_a_database_error_in_a_view_is_a_503_with_retry_after(monkeypatch, settings):
    settings.OUTAGE_RETRY_AFTER_SECONDS = 42

    def down(token):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr("channels_inbox.views.mailbox_by_inbound_token", down)
    response = Client(raise_request_exception=False).post(
        "/inbound/email/", b"Subject: hi\r\n\r\nhello", content_type="message/rfc822", HTTP_AUTHORIZATION="Bearer x"
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "42"
    assert response.json()["retryable"] is True
    assert b"Connection refused" not in response.content  # no internals in the answer


def test_redis_down_in_a_middleware_is_a_503_too(monkeypatch):
    """The API's rate limit reads the cache before any view runs: handler500 answers 503."""
    _token, key = api_token_create(user=make_agent("sam"))

    def down(**kwargs):
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")

    monkeypatch.setattr(lockout, "rate_exceeded", down)
    response = Client(raise_request_exception=False).get("/api/v1/tickets/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 503
    assert response["Retry-After"]


def test_other_errors_stay_500(monkeypatch):
    def broken(token):
        raise ValueError("a bug")

    monkeypatch.setattr("channels_inbox.views.mailbox_by_inbound_token", broken)
    response = Client(raise_request_exception=False).post(
        "/inbound/email/", b"Subject: hi\r\n\r\nhello", content_type="message/rfc822", HTTP_AUTHORIZATION="Bearer x"
    )
    assert response.status_code == 500
    assert "Retry-After" not in response


def test_the_sweep_requeues_only_work_whose_task_was_lost(monkeypatch, settings):
    settings.RECOVERY_STALLED_SECONDS = 300
    now = timezone.now()
    old = now - dt.timedelta(minutes=10)
    stalled_raw = raw_inbound_store(channel="sms", payload=b"From=%2B1555&Body=hi&MessageSid=SM1", external_id="SM1")[0]
    fresh_raw = raw_inbound_store(channel="sms", payload=b"From=%2B1555&Body=hi&MessageSid=SM2", external_id="SM2")[0]
    done_raw = raw_inbound_store(channel="sms", payload=b"From=%2B1555&Body=hi&MessageSid=SM3", external_id="SM3")[0]
    type(stalled_raw).objects.filter(pk__in=[stalled_raw.pk, done_raw.pk]).update(received_at=old)
    type(done_raw).objects.filter(pk=done_raw.pk).update(status=RawInboundStatus.PROCESSED)

    ticket = TicketFactory(channel="email", requester=IdentityFactory(value="kai@example.com").customer)
    agent = make_agent("sam")
    monkeypatch.setattr("tickets.tasks.message_deliver_task.delay", lambda *a, **k: None)
    queued = ticket_reply(ticket=ticket, author=agent, body_text="never attempted")
    retrying = ticket_reply(ticket=ticket, author=agent, body_text="waiting for its retry")
    sending = ticket_reply(ticket=ticket, author=agent, body_text="maybe with the provider already")
    recent = ticket_reply(ticket=ticket, author=agent, body_text="just queued")
    Message.objects.filter(pk__in=[queued.pk, retrying.pk, sending.pk]).update(created_at=old)
    Message.objects.filter(pk=retrying.pk).update(delivery_attempts=1)
    Message.objects.filter(pk=sending.pk).update(delivery_status=DeliveryStatus.SENDING, delivery_attempts=1)

    sent_raw, sent_messages = [], []
    monkeypatch.setattr("channels_inbox.tasks.raw_inbound_process_task.delay", sent_raw.append)
    monkeypatch.setattr("tickets.tasks.message_deliver_task.delay", sent_messages.append)
    result = recovery.stalled_requeue(now=now)
    assert result.raw_inbound == sent_raw == [stalled_raw.pk]
    assert result.messages == sent_messages == [queued.pk]
    assert fresh_raw.pk not in sent_raw and recent.pk not in sent_messages
