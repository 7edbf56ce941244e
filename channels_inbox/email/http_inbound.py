"""POST /inbound/email/: a raw message from an MTA pipe or forwarder, stored first and
processed by a worker after commit."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from tickets.models import RawInbound, RawInboundStatus
from tickets.services.ingest import raw_inbound_store

from ..models import Mailbox
from .adapter import email_external_id

_DONE = (RawInboundStatus.PROCESSED, RawInboundStatus.DUPLICATE, RawInboundStatus.IGNORED)


@dataclass(frozen=True)
class Accepted:
    raw: RawInbound
    duplicate: bool


def email_raw_accept(*, mailbox: Mailbox, payload: bytes, content_type: str, remote_addr: str = "") -> Accepted:
    """Store the message raw and queue its processing. A message already taken in is a
    duplicate; one stored but not yet processed (or failed) is queued again, harmlessly."""
    raw, created = raw_inbound_store(
        channel="email",
        payload=payload,
        external_id=email_external_id(payload),
        content_type=content_type or "message/rfc822",
        meta={"source": "http", "mailbox_id": mailbox.pk, "remote_addr": remote_addr},
    )
    if not created and raw.status in _DONE:
        return Accepted(raw=raw, duplicate=True)
    from ..tasks import raw_inbound_process_task

    raw_id = raw.pk
    transaction.on_commit(lambda: raw_inbound_process_task.delay(raw_id))
    return Accepted(raw=raw, duplicate=False)
