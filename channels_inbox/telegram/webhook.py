"""POST /inbound/telegram/: the Bot API's webhook, checked against our secret token, stored raw
first and processed by a worker after commit.

Telegram sends the `secret_token` given to setWebhook back in X-Telegram-Bot-Api-Secret-Token.
Set the same value as TELEGRAM_WEBHOOK_SECRET (1-256 characters of A-Z, a-z, 0-9, _ and -):

    curl -F url=https://desk.example.com/inbound/telegram/ -F secret_token=$TELEGRAM_WEBHOOK_SECRET \\
         https://api.telegram.org/bot$TELEGRAM_BOT_TOKEN/setWebhook
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from tickets.models import RawInbound, RawInboundStatus
from tickets.services.ingest import raw_inbound_store

from .adapter import KEY, telegram_update_id

logger = logging.getLogger(__name__)

_DONE = (RawInboundStatus.PROCESSED, RawInboundStatus.DUPLICATE, RawInboundStatus.IGNORED)


def telegram_secret_valid(header_value: str) -> bool:
    """Does the request carry our webhook secret? Always False while no secret is configured."""
    secret = getattr(settings, "TELEGRAM_WEBHOOK_SECRET", "") or ""
    if not secret:
        logger.error(
            "Refusing a Telegram webhook request: TELEGRAM_WEBHOOK_SECRET is not set. Set it and pass the same "
            "value as secret_token to setWebhook."
        )
        return False
    return hmac.compare_digest(header_value.encode(), secret.encode())


@dataclass(frozen=True)
class Accepted:
    raw: RawInbound
    duplicate: bool


def telegram_raw_accept(*, body: bytes, remote_addr: str = "") -> Accepted:
    """Store the update raw and queue its processing; a redelivered update is a duplicate."""
    update_id = telegram_update_id(body)
    external_id = None if update_id is None else f"update:{update_id}"
    meta = {"source": "webhook", "remote_addr": remote_addr}
    raw, created = raw_inbound_store(
        channel=KEY, payload=body, external_id=external_id, content_type="application/json", meta=meta
    )
    if not created and bytes(raw.payload) != body:
        # After a week without updates Telegram restarts update ids at random, so an old id can
        # come back on a different update: keep that one under an id of its own.
        digest = hashlib.sha256(body).hexdigest()[:16]
        raw, created = raw_inbound_store(
            channel=KEY,
            payload=body,
            external_id=f"{external_id}:{digest}",
            content_type="application/json",
            meta=meta,
        )
    if not created and raw.status in _DONE:
        return Accepted(raw=raw, duplicate=True)
    from ..tasks import raw_inbound_process_task

    raw_id = raw.pk
    transaction.on_commit(lambda: raw_inbound_process_task.delay(raw_id))
    return Accepted(raw=raw, duplicate=False)
