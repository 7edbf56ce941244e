"""Finding work that was stored but whose task never ran, and queueing it again.

Inbound payloads and outbound messages are rows before they are tasks: the row is committed
first and the task is queued after commit. If Redis restarts without persistence (or was
unreachable when the task was queued) the task is gone but the row is still there, waiting:
an inbound payload stays "received", a reply stays "queued" with no attempt made. The sweep
(`ops.stalled_requeue`, run by beat every RECOVERY_SWEEP_SECONDS) queues those again once they
have waited RECOVERY_STALLED_SECONDS. Processing both is idempotent (a payload already taken in
is recognised, a message already sent is left alone), so a task that was only slow, not lost,
does no harm when it also runs.

Messages that are "sending" are not queued again here: the worker that held them may have
handed them to the provider already; the broker's visibility timeout brings their task back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from tickets.models import DeliveryStatus, Message, MessageDirection, RawInbound, RawInboundStatus


@dataclass(frozen=True)
class Requeued:
    raw_inbound: list[int]
    messages: list[int]


def stalled_after() -> dt.timedelta:
    return dt.timedelta(seconds=max(1, int(getattr(settings, "RECOVERY_STALLED_SECONDS", 300))))


def stalled_raw_inbound(*, now: dt.datetime, limit: int = 500) -> list[int]:
    """Payloads stored but never processed, older than the stall threshold, oldest first."""
    return list(
        RawInbound.objects.filter(status=RawInboundStatus.RECEIVED, received_at__lte=now - stalled_after())
        .order_by("received_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def stalled_messages(*, now: dt.datetime, limit: int = 500) -> list[int]:
    """Outbound messages queued and never attempted, older than the stall threshold."""
    return list(
        Message.objects.filter(
            direction=MessageDirection.OUTBOUND,
            delivery_status=DeliveryStatus.QUEUED,
            delivery_attempts=0,
            created_at__lte=now - stalled_after(),
        )
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def stalled_requeue(*, now: dt.datetime | None = None) -> Requeued:
    """Queue a task again for every stalled payload and message. Returns their ids."""
    from channels_inbox.tasks import raw_inbound_process_task
    from tickets.tasks import message_deliver_task

    now = now or timezone.now()
    raws = stalled_raw_inbound(now=now)
    for raw_id in raws:
        raw_inbound_process_task.delay(raw_id)
    messages = stalled_messages(now=now)
    for message_id in messages:
        message_deliver_task.delay(message_id)
    return Requeued(raw_inbound=raws, messages=messages)
