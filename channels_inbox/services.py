"""Processing stored raw payloads through their channel's adapter into the ingest service."""

from __future__ import annotations

import logging

from django.db.models import QuerySet

from tickets.models import RawInbound, RawInboundStatus
from tickets.services.ingest import InboundRejected, IngestResult, message_ingest, raw_inbound_mark

from . import registry

logger = logging.getLogger(__name__)


def raw_inbound_process(*, raw_id: int) -> list[IngestResult]:
    """Parse one stored payload and ingest what it holds. A parser or validation error marks
    the payload failed with the reason (it stays stored, to be replayed once fixed)."""
    raw = RawInbound.objects.get(pk=raw_id)
    try:
        adapter = registry.get(raw.channel)
        inbound_messages = adapter.parse(raw)
        results = [message_ingest(inbound=inbound, raw=raw) for inbound in inbound_messages]
    except (registry.AdapterError, InboundRejected, ValueError, UnicodeError, LookupError) as exc:
        logger.warning("Inbound payload %s (%s) could not be processed: %s", raw.pk, raw.channel, exc)
        raw_inbound_mark(raw=raw, status=RawInboundStatus.FAILED, error=f"{exc.__class__.__name__}: {exc}")
        return []
    if not inbound_messages:
        raw_inbound_mark(raw=raw, status=RawInboundStatus.IGNORED, error="The payload held no message.")
    return results


def raw_inbound_replayable(*, channel: str | None = None, include_processed: bool = False) -> QuerySet[RawInbound]:
    statuses = [RawInboundStatus.FAILED, RawInboundStatus.RECEIVED]
    if include_processed:
        statuses += [RawInboundStatus.PROCESSED, RawInboundStatus.IGNORED, RawInboundStatus.DUPLICATE]
    qs = RawInbound.objects.filter(status__in=statuses)
    if channel:
        qs = qs.filter(channel=channel)
    return qs.order_by("received_at", "id")
