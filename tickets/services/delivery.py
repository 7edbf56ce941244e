"""Sending outbound messages through the channel's registered sender, visibly."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from ..models import DeliveryStatus, Message
from ..outbound import DeliveryError, DeliveryRetry, sender_for
from .events import Actor, event_record

MAX_ATTEMPTS = 6


def delivery_lease() -> dt.timedelta:
    """How long a worker's claim on a message it is sending holds. A message left "sending"
    for longer (its worker died) may be claimed by the task that comes back; a second copy of
    the task arriving while the claim holds leaves it alone, so it is not sent twice."""
    return dt.timedelta(seconds=max(1, int(getattr(settings, "DELIVERY_LEASE_SECONDS", 120))))


def _claim_held(message: Message, now: dt.datetime) -> bool:
    claimed = parse_datetime(str((message.metadata or {}).get("delivery_claimed_at") or ""))
    if message.delivery_status != DeliveryStatus.SENDING or claimed is None:
        return False
    return now - claimed < delivery_lease()


def message_deliver(*, message_id: int, final_attempt: bool = False) -> str:
    """Hand a queued message to its channel's sender. Returns the new delivery status.

    Idempotent: a message already sent, or claimed by another worker within the delivery lease
    (DELIVERY_LEASE_SECONDS), is left alone.
    Raises DeliveryRetry for a temporary failure unless this is the final attempt, in which
    case the message is marked failed with the reason."""
    with transaction.atomic():
        message = Message.objects.select_for_update(skip_locked=True).filter(pk=message_id).first()
        if message is None or message.delivery_status not in (DeliveryStatus.QUEUED, DeliveryStatus.SENDING):
            return message.delivery_status if message else "missing"
        now = timezone.now()
        if _claim_held(message, now):
            return DeliveryStatus.SENDING
        message.delivery_status = DeliveryStatus.SENDING
        message.delivery_attempts += 1
        message.metadata = {**(message.metadata or {}), "delivery_claimed_at": now.isoformat()}
        message.save(update_fields=["delivery_status", "delivery_attempts", "metadata"])

    sender = sender_for(message.channel)
    try:
        if sender is None:
            raise DeliveryError(
                _("No channel is set up to send %(channel)s messages.") % {"channel": message.get_channel_display()}
            )
        provider_id = sender(message)
    except DeliveryRetry as exc:
        if not final_attempt:
            Message.objects.filter(pk=message.pk).update(delivery_status=DeliveryStatus.QUEUED, delivery_error=str(exc))
            raise
        return _fail(message, str(exc))
    except DeliveryError as exc:
        return _fail(message, str(exc))

    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(
            delivery_status=DeliveryStatus.SENT,
            external_id=provider_id or None,
            sent_at=timezone.now(),
            delivery_error="",
        )
        event_record(
            obj=message,
            ticket=message.ticket,
            verb="delivered",
            new=DeliveryStatus.SENT,
            data={"provider_id": provider_id},
            actor=Actor.system(),
        )
    return DeliveryStatus.SENT


def _fail(message: Message, reason: str) -> str:
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(delivery_status=DeliveryStatus.FAILED, delivery_error=reason)
        event_record(
            obj=message,
            ticket=message.ticket,
            verb="delivery_failed",
            new=DeliveryStatus.FAILED,
            data={"reason": reason},
            actor=Actor.system(),
        )
    return DeliveryStatus.FAILED


# Later states never go back to earlier ones (a late "delivered" callback after "read").
_STATUS_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENDING: 1,
    DeliveryStatus.SENT: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.READ: 4,
}


def message_delivery_update(*, channel: str, external_id: str, status: str, error: str = "") -> Message | None:
    """Record what a provider reports about an outbound message we sent (a status callback,
    a bounce): delivered, read or failed with the reason. Returns the message, or None when
    no outbound message has that id (the report is then only logged by the caller)."""
    if status not in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ, DeliveryStatus.FAILED):
        raise ValueError(f"{status!r} is not a delivery status a provider can report.")
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .select_related("ticket")
            .filter(channel=channel, external_id=external_id, direction="outbound")
            .first()
        )
        if message is None:
            return None
        old = message.delivery_status
        if status != DeliveryStatus.FAILED and _STATUS_RANK.get(status, 0) <= _STATUS_RANK.get(old, -1):
            return message
        if status == old and error == message.delivery_error:
            return message
        message.delivery_status = status
        message.delivery_error = error[:2000] if status == DeliveryStatus.FAILED else ""
        message.save(update_fields=["delivery_status", "delivery_error"])
        event_record(
            obj=message,
            ticket=message.ticket,
            verb="delivery_failed" if status == DeliveryStatus.FAILED else "delivery_status",
            field="delivery_status",
            old=old,
            new=status,
            data={"reason": error} if error else None,
            actor=Actor.system(),
        )
    return message
