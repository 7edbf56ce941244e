"""Webhook writes: subscriptions, emission of events as deliveries, sending with retries.

Settings (all optional): WEBHOOK_TIMEOUT_SECONDS (10), WEBHOOK_MAX_ATTEMPTS (6 tries per
delivery), WEBHOOK_BACKOFF_SECONDS (60: then 120, 240, ...), WEBHOOK_BACKOFF_MAX_SECONDS (6 h),
WEBHOOK_DISABLE_AFTER_FAILURES (10 consecutive failed deliveries disable a subscription).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from helpdesk.netguard import UnsafeURL, guarded_urlopen, url_check
from tickets.models import Customer, Event, Message, Ticket, TicketStatus
from tickets.services.events import Actor, event_record, jsonable

from .crypto import secret_decrypt, secret_encrypt, secret_generate
from .models import DeliveryStatus, WebhookDelivery, WebhookEventType, WebhookSubscription
from .signing import webhook_signature

logger = logging.getLogger(__name__)

RESPONSE_EXCERPT_CHARS = 1000
USER_AGENT = "Helpdesk-Webhooks/1"


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def timeout_seconds() -> int:
    return _setting("WEBHOOK_TIMEOUT_SECONDS", 10)


def max_attempts() -> int:
    return max(1, _setting("WEBHOOK_MAX_ATTEMPTS", 6))


def disable_after() -> int:
    return max(1, _setting("WEBHOOK_DISABLE_AFTER_FAILURES", 10))


def backoff(attempts: int) -> dt.timedelta:
    """Wait after the `attempts`-th failed try: 1 min, 2, 4, 8, ... capped."""
    base = _setting("WEBHOOK_BACKOFF_SECONDS", 60)
    return dt.timedelta(seconds=min(base * 2 ** max(0, attempts - 1), _setting("WEBHOOK_BACKOFF_MAX_SECONDS", 21600)))


# --- Subscriptions ---------------------------------------------------------------------------------


def _clean(url: str, event_types: Iterable[str]) -> list[str]:
    errors: dict[str, list[str]] = {}
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        errors["url"] = ["Enter an http:// or https:// URL."]
    else:
        try:
            url_check(url)  # SSRF guard; checked again on every delivery (DNS rebinding)
        except UnsafeURL as exc:
            errors["url"] = [str(exc)]
    types = list(dict.fromkeys(event_types))
    unknown = [t for t in types if t not in WebhookEventType.values]
    if not types:
        errors["event_types"] = ["Choose at least one event type."]
    elif unknown:
        errors["event_types"] = [
            f"Unknown event type {', '.join(unknown)}; known: {', '.join(WebhookEventType.values)}."
        ]
    if errors:
        raise ValidationError(errors)
    return types


def webhook_subscription_create(
    *,
    url: str,
    event_types: Iterable[str],
    actor: Actor,
    description: str = "",
    secret: str = "",
) -> tuple[WebhookSubscription, str]:
    """A new active subscription and its secret (given, or generated): show the secret once."""
    types = _clean(url, event_types)
    secret = secret or secret_generate()
    with transaction.atomic():
        subscription = WebhookSubscription.objects.create(
            url=url,
            description=description,
            event_types=types,
            secret_encrypted=secret_encrypt(secret),
            created_by=actor.user,
        )
        event_record(obj=subscription, verb="created", new={"url": url, "event_types": types}, actor=actor)
    return subscription, secret


def webhook_subscription_update(
    *, subscription: WebhookSubscription, changes: dict[str, Any], actor: Actor
) -> WebhookSubscription:
    """Change url, description, event_types, is_active or secret. Turning a disabled
    subscription back on clears its failure count and the reason it was disabled."""
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        url = changes.get("url", locked.url)
        types = _clean(url, changes.get("event_types", locked.event_types))
        for field, value in (("url", url), ("event_types", types), ("description", changes.get("description"))):
            if value is not None and getattr(locked, field) != value:
                event_record(
                    obj=locked, verb="changed", field=field, old=getattr(locked, field), new=value, actor=actor
                )
                setattr(locked, field, value)
        if changes.get("secret"):
            locked.secret_encrypted = secret_encrypt(changes["secret"])
            event_record(obj=locked, verb="secret_changed", actor=actor)  # never the secret itself
        active = changes.get("is_active")
        if active is not None and active != locked.is_active:
            locked.is_active = active
            if active:
                locked.failure_count, locked.disabled_at, locked.disabled_reason = 0, None, ""
            else:
                locked.disabled_at, locked.disabled_reason = timezone.now(), "Turned off by a person."
            event_record(obj=locked, verb="enabled" if active else "disabled", actor=actor)
        locked.updated_at = timezone.now()
        locked.save()
    return locked


def webhook_subscription_delete(*, subscription: WebhookSubscription, actor: Actor) -> None:
    with transaction.atomic():
        event_record(obj=subscription, verb="deleted", data={"url": subscription.url}, actor=actor)
        subscription.delete()


# --- Emission: audit events become deliveries --------------------------------------------------------


def event_webhook_types(event: Event) -> list[str]:
    """Which webhook event types a tickets Event is (usually none or one)."""
    kind, verb = event.object_type, event.verb
    if kind == "ticket":
        if verb == "created":
            return [WebhookEventType.TICKET_CREATED]
        if verb in {"changed", "assigned", "reopened", "merged", "merged_in", "follower_added"}:
            if event.field == "status" and event.new_value == TicketStatus.SOLVED:
                return [WebhookEventType.TICKET_UPDATED, WebhookEventType.TICKET_SOLVED]
            return [WebhookEventType.TICKET_UPDATED]
        if verb == "sla_warned":
            return [WebhookEventType.SLA_WARNED]
        if verb == "sla_breached":
            return [WebhookEventType.SLA_BREACHED]
    if kind == "survey" and verb == "survey_answered":
        return [WebhookEventType.SURVEY_ANSWERED]
    if kind == "message" and verb in {"message_received", "reply_queued", "note_added"}:
        return [WebhookEventType.MESSAGE_CREATED]
    if kind == "customer" and verb == "created":
        return [WebhookEventType.CUSTOMER_CREATED]
    if kind == "customer" and verb == "customer_merged" and "merged_from" in (event.data or {}):
        return [WebhookEventType.CUSTOMER_MERGED]  # the kept customer's event; the other is gone
    return []


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _ticket_data(ticket: Ticket) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "type": ticket.type,
        "channel": ticket.channel,
        "requester": ticket.requester_id,
        "organization": ticket.organization_id,
        "team": ticket.team_id,
        "assignee": ticket.assignee_id,
        "created_at": _iso(ticket.created_at),
        "updated_at": _iso(ticket.updated_at),
        "solved_at": _iso(ticket.solved_at),
    }


def _object_data(event: Event) -> dict[str, Any] | None:
    if event.object_type == "ticket":
        ticket = Ticket.objects.filter(pk=event.object_id).first()
        return {"ticket": _ticket_data(ticket)} if ticket else None
    if event.object_type == "message":
        message = Message.objects.select_related("ticket").filter(pk=event.object_id).first()
        if message is None:
            return None
        return {
            "message": {
                "id": message.pk,
                "ticket": message.ticket.number,
                "direction": message.direction,
                "author_kind": message.author_kind,
                "channel": message.channel,
                "is_internal": message.is_internal,
                "subject": message.subject,
                "body_text": message.body_text,
                "created_at": _iso(message.created_at),
            },
            "ticket": _ticket_data(message.ticket),
        }
    if event.object_type == "survey":
        from metrics.models import Survey

        survey = Survey.objects.select_related("ticket").filter(pk=event.object_id).first()
        if survey is None:
            return None
        return {
            "survey": {
                "id": survey.pk,
                "kind": survey.kind,
                "score": survey.score,
                "comment": survey.comment,
                "channel": survey.channel,
                "agent": survey.agent_id,
                "team": survey.team_id,
                "answered_at": _iso(survey.answered_at),
            },
            "ticket": _ticket_data(survey.ticket),
        }
    if event.object_type == "customer":
        customer = Customer.objects.prefetch_related("identities").filter(pk=event.object_id).first()
        if customer is None:
            return None
        return {
            "customer": {
                "id": customer.pk,
                "name": customer.name,
                "organization": customer.organization_id,
                "identities": [{"kind": i.kind, "value": i.value} for i in customer.identities.all()],
            }
        }
    return None


def event_payload(event: Event, event_type: str) -> dict[str, Any] | None:
    data = _object_data(event)
    if data is None:
        return None
    change = {"verb": event.verb}
    if event.verb == "customer_merged":
        change["merged_from"] = (event.data or {}).get("merged_from")
    if event.verb in ("sla_warned", "sla_breached"):
        change.update({k: (event.data or {}).get(k) for k in ("metric", "due_at", "policy")})
    if event.field:
        change.update(field=event.field, old=jsonable(event.old_value), new=jsonable(event.new_value))
    return {
        "event": event_type,
        "event_id": event.pk,
        "occurred_at": _iso(event.created_at),
        "actor": {"kind": event.actor_kind, "user": event.actor_user_id, "customer": event.actor_customer_id},
        "change": change,
        "data": data,
    }


def webhook_event_emit(*, event_id: int) -> list[int]:
    """One pending delivery per active subscription wanting this event; the send tasks are
    queued after commit. Safe to run twice (a unique constraint drops the repeat)."""
    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        return []
    types = event_webhook_types(event)
    if not types:
        return []
    subscriptions = [s for s in WebhookSubscription.objects.filter(is_active=True) if any(map(s.wants, types))]
    if not subscriptions:
        return []
    now = timezone.now()
    created: list[int] = []
    for event_type in types:
        payload = event_payload(event, event_type)
        if payload is None:
            continue
        for subscription in subscriptions:
            if not subscription.wants(event_type):
                continue
            try:
                with transaction.atomic():
                    delivery = WebhookDelivery.objects.create(
                        subscription=subscription,
                        event_type=event_type,
                        event_id=event.pk,
                        payload=payload,
                        next_attempt_at=now,
                    )
            except IntegrityError:  # emitted before
                continue
            created.append(delivery.pk)
    _enqueue_after_commit(created)
    return created


def _enqueue_after_commit(delivery_ids: list[int]) -> None:
    from .tasks import webhook_deliver_task

    for delivery_id in delivery_ids:
        transaction.on_commit(lambda pk=delivery_id: webhook_deliver_task.delay(pk))


def webhook_delivery_redeliver(*, delivery: WebhookDelivery, actor: Actor) -> WebhookDelivery:
    """Send the same payload again, as a new delivery (the log keeps both)."""
    with transaction.atomic():
        again = WebhookDelivery.objects.create(
            subscription=delivery.subscription,
            event_type=delivery.event_type,
            event_id=delivery.event_id,
            payload=delivery.payload,
            redelivery_of=delivery,
            next_attempt_at=timezone.now(),
        )
        event_record(
            obj=delivery.subscription, verb="redelivery_requested", data={"delivery": delivery.pk}, actor=actor
        )
        _enqueue_after_commit([again.pk])
    return again


# --- Sending -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: int | None
    body: str
    error: str


def _post(url: str, body: bytes, headers: dict[str, str]) -> Response:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with guarded_urlopen(request, timeout=timeout_seconds()) as reply:  # SSRF guard on the connected address
            return Response(reply.status, reply.read(RESPONSE_EXCERPT_CHARS * 4).decode("utf-8", "replace"), "")
    except urllib.error.HTTPError as exc:
        text = exc.read(RESPONSE_EXCERPT_CHARS * 4).decode("utf-8", "replace") if exc.fp else ""
        return Response(exc.code, text, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Response(None, "", f"{type(exc).__name__}: {reason}"[:500])


def _claim(delivery_id: int, now: dt.datetime) -> WebhookDelivery | None:
    """Take a due pending delivery for one try: count the attempt and push `next_attempt_at`
    past the timeout, so a second task (or the sweep) does not send it at the same time."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None
        subscription = delivery.subscription
        if not subscription.is_active and delivery.redelivery_of_id is None:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
            delivery.last_error = f"Not sent: the subscription is disabled ({subscription.disabled_reason})."[:500]
            delivery.save(update_fields=["status", "next_attempt_at", "last_error"])
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = now + dt.timedelta(seconds=timeout_seconds() + 50)
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    return delivery


def webhook_delivery_attempt(*, delivery_id: int, now: dt.datetime | None = None) -> str:
    """Try one due delivery once. Returns what happened: succeeded, retry, failed or skipped."""
    now = now or timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return "skipped"
    body = json.dumps(delivery.payload, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    secret = secret_decrypt(delivery.subscription.secret_encrypted)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Helpdesk-Event": delivery.event_type,
        "X-Helpdesk-Delivery": str(delivery.pk),
        "X-Helpdesk-Timestamp": timestamp,
        "X-Helpdesk-Signature": webhook_signature(secret, timestamp, body),
    }
    response = _post(delivery.subscription.url, body, headers)
    return _record(delivery, response, now)


def _record(delivery: WebhookDelivery, response: Response, now: dt.datetime) -> str:
    ok = response.status is not None and 200 <= response.status < 300
    delivery.last_response_code = response.status
    delivery.last_response_body = response.body[:RESPONSE_EXCERPT_CHARS]
    delivery.last_error = "" if ok else (response.error or f"HTTP {response.status}")
    fields = ["status", "next_attempt_at", "last_response_code", "last_response_body", "last_error"]
    with transaction.atomic():
        if ok:
            delivery.status, delivery.next_attempt_at, delivery.delivered_at = DeliveryStatus.SUCCEEDED, None, now
            delivery.save(update_fields=[*fields, "delivered_at"])
            WebhookSubscription.objects.filter(pk=delivery.subscription_id).exclude(failure_count=0).update(
                failure_count=0
            )
            return "succeeded"
        if delivery.attempts < max_attempts():
            delivery.next_attempt_at = now + backoff(delivery.attempts)
            delivery.save(update_fields=fields)
            return "retry"
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        delivery.save(update_fields=fields)
        _failure_count(delivery)
    return "failed"


def _failure_count(delivery: WebhookDelivery) -> None:
    """One more delivery failed for good; too many in a row turn the subscription off."""
    subscription = WebhookSubscription.objects.select_for_update().get(pk=delivery.subscription_id)
    subscription.failure_count = F("failure_count") + 1
    subscription.save(update_fields=["failure_count"])
    subscription.refresh_from_db(fields=["failure_count"])
    limit = disable_after()
    if not subscription.is_active or subscription.failure_count < limit:
        return
    reason = (
        f"{subscription.failure_count} deliveries in a row failed after {max_attempts()} tries each; "
        f"the last: {delivery.last_error}"
    )[:255]
    subscription.is_active, subscription.disabled_at, subscription.disabled_reason = False, timezone.now(), reason
    subscription.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
    # The notice: an audit event anyone watching the log (or the admin) sees.
    event_record(
        obj=subscription,
        verb="disabled",
        data={"reason": reason, "url": subscription.url, "last_delivery": delivery.pk},
        actor=Actor.system(),
    )
    logger.warning("Webhook subscription %s disabled: %s", subscription.pk, reason)


def webhook_delivery_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Ids of pending deliveries whose next attempt is due, oldest first."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
