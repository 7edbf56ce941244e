"""The consent ledger follows the audit log: every change of a customer's consent_* field
(from any path: SMS keywords, the admin, the API, a service) and every SMS opt-in/out keyword
writes a ConsentRecord in the same transaction as the event."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from tickets.models import Event

from .models import ConsentChannel, ConsentRecord

SMS_KEYWORD_VERBS = {"sms_opted_out": False, "sms_opted_in": True}


def consent_from_event(sender: Any, instance: Event, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if not created or raw or instance.object_type != "customer":
        return
    if instance.verb == "changed" and instance.field.startswith("consent_"):
        channel = instance.field.removeprefix("consent_")
        if channel not in ConsentChannel.values:
            return
        ConsentRecord.objects.create(
            customer_id=instance.object_id,
            channel=channel,
            granted=bool(instance.new_value),
            source=instance.actor_kind,
            actor_user_id=instance.actor_user_id,
            event_id=instance.pk,
            at=instance.created_at,
        )
    elif instance.verb in SMS_KEYWORD_VERBS:
        evidence = {"keyword": instance.data.get("keyword", ""), "message_sid": instance.data.get("message_sid", "")}
        granted = SMS_KEYWORD_VERBS[instance.verb]
        # The keyword's consent change was recorded a moment ago by the "changed" event: mark it.
        recent = (
            ConsentRecord.objects.filter(
                customer_id=instance.object_id,
                channel=ConsentChannel.SMS,
                granted=granted,
                evidence={},
                at__gte=instance.created_at - dt.timedelta(seconds=5),
            )
            .order_by("-id")
            .first()
        )
        if recent is not None:
            recent.source, recent.evidence = "sms_keyword", evidence
            recent.save(update_fields=["source", "evidence"])
            return
        ConsentRecord.objects.create(
            customer_id=instance.object_id,
            channel=ConsentChannel.SMS,
            granted=granted,
            source="sms_keyword",
            evidence=evidence,
            event_id=instance.pk,
            at=instance.created_at or timezone.now(),
        )
