"""Taking Twilio SMS webhooks in: the raw payload is stored under its MessageSid first and
processed by a worker after commit."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from tickets.models import RawInbound, RawInboundStatus
from tickets.services.ingest import raw_inbound_store

from .adapter import KEY

_DONE = (RawInboundStatus.PROCESSED, RawInboundStatus.DUPLICATE, RawInboundStatus.IGNORED)


@dataclass(frozen=True)
class Accepted:
    raw: RawInbound
    duplicate: bool


def sms_raw_accept(*, body: bytes, message_sid: str, url: str = "", remote_addr: str = "") -> Accepted:
    """Store the webhook raw and queue its processing; a redelivered MessageSid is a duplicate."""
    raw, created = raw_inbound_store(
        channel=KEY,
        payload=body,
        external_id=message_sid,
        content_type="application/x-www-form-urlencoded",
        meta={"source": "twilio webhook", "url": url, "remote_addr": remote_addr},
    )
    if not created and raw.status in _DONE:
        return Accepted(raw=raw, duplicate=True)
    from ..tasks import raw_inbound_process_task

    raw_id = raw.pk
    transaction.on_commit(lambda: raw_inbound_process_task.delay(raw_id))
    return Accepted(raw=raw, duplicate=False)
