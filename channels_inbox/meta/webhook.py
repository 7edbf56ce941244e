"""Taking Meta webhook deliveries in: stored raw first (one row per delivery), processed by a
worker after commit.

A POST may batch several messages and statuses, so a delivery has no single provider id: the
raw payload is stored under "sha256:<hex digest of the body>", which makes a redelivery of the
same body a duplicate. Each message inside is then ingested under its own id (wamid, mid), so a
message that comes back in a different batch is still stored once.

The "object" field picks the channel: "whatsapp_business_account" -> whatsapp, "page" ->
messenger, "instagram" -> instagram. Anything else (a subscription this help desk does not
use) is answered 200 and not stored, so Meta does not retry it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from django.db import transaction

from tickets.models import RawInbound, RawInboundStatus
from tickets.services.ingest import raw_inbound_store

logger = logging.getLogger(__name__)

CHANNEL_FOR_OBJECT = {"whatsapp_business_account": "whatsapp", "page": "messenger", "instagram": "instagram"}
_DONE = (RawInboundStatus.PROCESSED, RawInboundStatus.DUPLICATE, RawInboundStatus.IGNORED)


class NotMetaPayload(ValueError):
    """The body is not a JSON object with an "object" field."""


@dataclass(frozen=True)
class Accepted:
    raw: RawInbound | None
    duplicate: bool
    channel: str = ""


def meta_delivery_id(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def meta_channel(body: bytes) -> str:
    """The channel key for the payload's "object"; "" for an object we do not take."""
    try:
        data = json.loads(body)
    except ValueError:
        raise NotMetaPayload("The body is not JSON.") from None
    if not isinstance(data, dict) or not isinstance(data.get("object"), str):
        raise NotMetaPayload('The body has no "object" field.')
    return CHANNEL_FOR_OBJECT.get(data["object"], "")


def meta_raw_accept(*, body: bytes, remote_addr: str = "") -> Accepted:
    """Store the delivery raw and queue its processing; a redelivered body is a duplicate."""
    channel = meta_channel(body)
    if not channel:
        logger.info("Meta webhook for an object this help desk does not take; not stored.")
        return Accepted(raw=None, duplicate=False)
    raw, created = raw_inbound_store(
        channel=channel,
        payload=body,
        external_id=meta_delivery_id(body),
        content_type="application/json",
        meta={"source": "meta webhook", "remote_addr": remote_addr},
    )
    if not created and raw.status in _DONE:
        return Accepted(raw=raw, duplicate=True, channel=channel)
    from ..tasks import raw_inbound_process_task

    raw_id = raw.pk
    transaction.on_commit(lambda: raw_inbound_process_task.delay(raw_id))
    return Accepted(raw=raw, duplicate=False, channel=channel)
