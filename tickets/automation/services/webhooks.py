"""A rule's webhook action: the ticket posted as signed JSON to a target, as a row retried
with backoff (by the send task and, as a safety net, by the sweep), visible when it fails.

The signature is the outbound webhooks' one (webhooks.signing): X-Helpdesk-Timestamp and
X-Helpdesk-Signature = sha256=HMAC-SHA256(secret, "{timestamp}.{body}"). Targets on loopback,
private or reserved addresses are refused unless AUTOMATION_WEBHOOK_ALLOW_PRIVATE is set."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.request
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.netguard import UnsafeURL, guarded_opener, url_check
from tickets.models import Ticket
from tickets.services.events import Actor, event_record
from webhooks.crypto import secret_decrypt, secret_encrypt, secret_generate
from webhooks.signing import webhook_signature

from ..models import WebhookCall, WebhookCallStatus, WebhookTarget
from . import settings as conf

USER_AGENT = "Helpdesk-Rules/1"
EVENT_NAME = "rule.webhook"
EXCERPT = 500


def webhook_url_check(url: str) -> None:
    """ValidationError for a URL that is not http(s), or that points at a private address
    while AUTOMATION_WEBHOOK_ALLOW_PRIVATE is off."""
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError({"url": _("Enter an http:// or https:// URL.")}) from None
    if conf.webhook_allow_private():
        return
    try:
        url_check(url)
    except UnsafeURL as exc:
        raise ValidationError({"url": str(exc)}) from None


def webhook_target_create(
    *, name: str, url: str, actor: Actor, secret: str = "", is_active: bool = True
) -> tuple[WebhookTarget, str]:
    """A new target and its secret (shown once: only its encrypted form is kept)."""
    webhook_url_check(url)
    secret = secret or secret_generate()
    with transaction.atomic():
        target = WebhookTarget.objects.create(
            name=name, url=url, secret_encrypted=secret_encrypt(secret), is_active=is_active
        )
        event_record(obj=target, verb="created", new={"name": name, "url": url}, actor=actor)
    return target, secret


def webhook_target_update(
    *,
    target: WebhookTarget,
    actor: Actor,
    name: str | None = None,
    url: str | None = None,
    secret: str = "",
    is_active: bool | None = None,
) -> WebhookTarget:
    if url is not None:
        webhook_url_check(url)
    with transaction.atomic():
        for field, value in (("name", name), ("url", url), ("is_active", is_active)):
            if value is not None and getattr(target, field) != value:
                event_record(
                    obj=target, verb="changed", field=field, old=getattr(target, field), new=value, actor=actor
                )
                setattr(target, field, value)
        if secret:
            target.secret_encrypted = secret_encrypt(secret)
            event_record(obj=target, verb="secret_changed", actor=actor)  # never the secret itself
        target.save()
    return target


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def ticket_payload(ticket: Ticket) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "type": ticket.type,
        "channel": ticket.channel,
        "language": ticket.language,
        "requester": ticket.requester_id,
        "organization": ticket.organization_id,
        "team": ticket.team_id,
        "assignee": ticket.assignee_id,
        "tags": sorted(ticket.tags.values_list("name", flat=True)),
        "created_at": _iso(ticket.created_at),
        "updated_at": _iso(ticket.updated_at),
        "solved_at": _iso(ticket.solved_at),
    }


def webhook_call_queue(*, target: WebhookTarget, ticket: Ticket, rule: str) -> WebhookCall:
    """A pending call with the ticket as it is now; its send task is queued after commit."""
    now = timezone.now()
    call = WebhookCall.objects.create(
        target=target,
        ticket=ticket,
        rule=rule[:255],
        payload={"event": EVENT_NAME, "rule": rule, "occurred_at": now.isoformat(), "ticket": ticket_payload(ticket)},
        next_attempt_at=now,
    )
    call_id = call.pk

    def enqueue() -> None:
        from ..tasks import automation_webhook_send_task

        automation_webhook_send_task.delay(call_id)

    transaction.on_commit(enqueue)
    return call


def _claim(call_id: int, now: dt.datetime) -> WebhookCall | None:
    """Take a due call for one try: count it and push next_attempt_at past the timeout, so
    the sweep or a duplicate task does not send it at the same time."""
    with transaction.atomic():
        call = (
            WebhookCall.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("target")
            .filter(pk=call_id, status=WebhookCallStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if call is None:
            return None
        call.attempts += 1
        call.next_attempt_at = now + dt.timedelta(seconds=conf.webhook_timeout() + 50)
        call.save(update_fields=["attempts", "next_attempt_at"])
    return call


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    if conf.webhook_allow_private():
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    else:
        opener = guarded_opener()  # checks the address actually connected to (DNS rebinding)
    try:
        with opener.open(request, timeout=conf.webhook_timeout()) as reply:
            return reply.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"[:EXCERPT]


def webhook_call_attempt(*, call_id: int, now: dt.datetime | None = None) -> str:
    """Try one due call once: succeeded, retry, failed or skipped (not due, or taken)."""
    now = now or timezone.now()
    call = _claim(call_id, now)
    if call is None:
        return "skipped"
    body = json.dumps(call.payload, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Helpdesk-Event": EVENT_NAME,
        "X-Helpdesk-Delivery": f"rule-{call.pk}",
        "X-Helpdesk-Timestamp": timestamp,
        "X-Helpdesk-Signature": webhook_signature(secret_decrypt(call.target.secret_encrypted), timestamp, body),
    }
    if not call.target.is_active:
        code, error = None, _("The target is inactive.")
    else:
        code, error = _post(call.target.url, body, headers)
    ok = code is not None and 200 <= code < 300
    call.last_response_code, call.last_error = code, ("" if ok else (error or f"HTTP {code}"))[:EXCERPT]
    fields = ["status", "next_attempt_at", "last_response_code", "last_error"]
    with transaction.atomic():
        if ok:
            call.status, call.next_attempt_at, call.delivered_at = WebhookCallStatus.SUCCEEDED, None, timezone.now()
            call.save(update_fields=[*fields, "delivered_at"])
            return "succeeded"
        if call.attempts < conf.webhook_max_attempts() and call.target.is_active:
            call.next_attempt_at = now + dt.timedelta(seconds=conf.webhook_backoff(call.attempts))
            call.save(update_fields=fields)
            return "retry"
        call.status, call.next_attempt_at = WebhookCallStatus.FAILED, None
        call.save(update_fields=fields)
        if call.ticket_id:
            # Visible on the ticket's timeline, never silent.
            event_record(
                obj=call,
                ticket=Ticket.objects.get(pk=call.ticket_id),
                verb="rule_webhook_failed",
                data={
                    "target": call.target.name,
                    "rule": call.rule,
                    "error": call.last_error,
                    "attempts": call.attempts,
                },
                actor=Actor.system(),
            )
    return "failed"


def webhook_calls_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(
        WebhookCall.objects.filter(status=WebhookCallStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
