"""Privacy requests: export everything held about a customer, and erase a customer.

Export: a zip with `customer.json` (the customer, identities, consent records, tickets with
their public messages, attachments listed, and the audit events about them) and the stored
attachment files under `attachments/`. Internal notes are staff working notes and are left out
unless asked for.

Erase: the customer's name, notes, attributes, identities and portal login; the subjects,
message texts, raw provider payloads and attachment files of their tickets and messages; survey
comments; and the personal values in audit events about them. Kept: tickets with their number,
status, priority, channel, team, assignee and timestamps, messages as empty shells with their
direction, channel and times, survey scores and SLA records, so every aggregate metric (volumes,
response and resolution times, CSAT) stays the same. The erasure itself is recorded as an event.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tickets.models import Attachment, Customer, Event, Message, RawInbound, Ticket
from tickets.services.events import Actor, event_record

from ..models import ConsentRecord

ERASED = "[erased]"


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _customer_data(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.pk,
        "name": customer.name,
        "organization": customer.organization.name if customer.organization_id else None,
        "language": customer.language,
        "time_zone": customer.time_zone,
        "preferred_channel": customer.preferred_channel,
        "tier": customer.tier,
        "consent": {
            "email": customer.consent_email,
            "sms": customer.consent_sms,
            "whatsapp": customer.consent_whatsapp,
            "marketing": customer.consent_marketing,
        },
        "attributes": customer.attributes,
        "notes": customer.notes,
        "portal_login": customer.user.get_username() if customer.user_id else None,
        "created_at": _iso(customer.created_at),
    }


def _attachment_path(attachment: Attachment) -> str:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in attachment.filename)[:100] or "file"
    return f"attachments/{attachment.message.ticket.number}/{attachment.pk}-{safe}"


def customer_export(*, customer: Customer, include_internal: bool = False) -> bytes:
    """Everything held about `customer` as zip bytes (see the module's docstring)."""
    customer = Customer.objects.select_related("organization", "user").get(pk=customer.pk)
    tickets = list(Ticket.objects.filter(requester=customer).order_by("created_at"))
    ticket_ids = [t.pk for t in tickets]
    message_filter = Q(ticket_id__in=ticket_ids) | Q(author_customer=customer)
    messages = Message.objects.filter(message_filter).select_related("ticket").order_by("created_at", "id")
    if not include_internal:
        messages = messages.filter(is_internal=False)
    messages = list(messages)
    attachments = list(
        Attachment.objects.filter(message__in=[m.pk for m in messages]).select_related("message__ticket").order_by("id")
    )
    by_message: dict[int, list[Attachment]] = {}
    for attachment in attachments:
        by_message.setdefault(attachment.message_id, []).append(attachment)
    identity_ids = list(customer.identities.values_list("pk", flat=True))
    events = Event.objects.filter(
        Q(ticket_id__in=ticket_ids)
        | Q(object_type="customer", object_id=customer.pk)
        | Q(object_type="identity", object_id__in=identity_ids)
    ).order_by("created_at", "id")
    if not include_internal:
        events = events.exclude(
            object_type="message",
            object_id__in=Message.objects.filter(ticket_id__in=ticket_ids, is_internal=True).values("pk"),
        )

    document = {
        "exported_at": timezone.now().isoformat(),
        "customer": _customer_data(customer),
        "identities": [
            {
                "kind": i.kind,
                "value": i.value,
                "display": i.display,
                "verified": i.verified,
                "created_at": _iso(i.created_at),
            }
            for i in customer.identities.order_by("id")
        ],
        "consent_records": [
            {"channel": r.channel, "granted": r.granted, "source": r.source, "evidence": r.evidence, "at": _iso(r.at)}
            for r in ConsentRecord.objects.filter(customer=customer).order_by("at", "id")
        ],
        "tickets": [
            {
                "number": t.number,
                "subject": t.subject,
                "status": t.status,
                "priority": t.priority,
                "type": t.type,
                "channel": t.channel,
                "created_at": _iso(t.created_at),
                "updated_at": _iso(t.updated_at),
                "solved_at": _iso(t.solved_at),
                "closed_at": _iso(t.closed_at),
                "custom_fields": t.custom_fields,
            }
            for t in tickets
        ],
        "messages": [
            {
                "id": m.pk,
                "ticket": m.ticket.number,
                "direction": m.direction,
                "author": m.author_kind,
                "channel": m.channel,
                "subject": m.subject,
                "text": m.body_text,
                "internal": m.is_internal,
                "created_at": _iso(m.created_at),
                "attachments": [
                    {
                        "filename": a.filename,
                        "content_type": a.content_type,
                        "size": a.size,
                        "stored": bool(a.stored and a.file),
                        "path": _attachment_path(a) if a.stored and a.file else None,
                    }
                    for a in by_message.get(m.pk, [])
                ],
            }
            for m in messages
        ],
        "events": [
            {
                "at": _iso(e.created_at),
                "object": f"{e.object_type} {e.object_id}",
                "verb": e.verb,
                "field": e.field,
                "old": e.old_value,
                "new": e.new_value,
                "data": e.data,
                "actor": e.actor_kind,
            }
            for e in events
        ],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("customer.json", json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2))
        for attachment in attachments:
            if not (attachment.stored and attachment.file):
                continue
            try:
                with attachment.file.open("rb") as handle:
                    archive.writestr(_attachment_path(attachment), handle.read())
            except OSError:
                continue  # listed in customer.json; the file is gone from storage
    return buffer.getvalue()


def _scrub_event(event: Event) -> None:
    event.old_value = ERASED if event.old_value not in (None, "", [], {}) else event.old_value
    event.new_value = ERASED if event.new_value not in (None, "", [], {}) else event.new_value
    event.data = {k: ERASED for k in (event.data or {})}
    event.save(update_fields=["old_value", "new_value", "data"])


def customer_erase(*, customer: Customer, actor: Actor) -> dict[str, int]:
    """Anonymise `customer` (see the module's docstring). Idempotent; returns counts."""
    files_to_check: set[str] = set()
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        tickets = Ticket.objects.filter(requester=customer)
        ticket_ids = list(tickets.values_list("pk", flat=True))
        messages = Message.objects.filter(Q(ticket_id__in=ticket_ids) | Q(author_customer=customer))
        message_ids = list(messages.values_list("pk", flat=True))
        identity_ids = list(customer.identities.values_list("pk", flat=True))

        attachments = Attachment.objects.filter(message_id__in=message_ids)
        for attachment in attachments.exclude(file=""):
            files_to_check.add(attachment.file.name)
        attachment_count = attachments.update(filename=ERASED, file="", stored=False, size=0, content_id="", sha256="")
        raw_ids = [r for r in messages.exclude(raw__isnull=True).values_list("raw_id", flat=True)]
        RawInbound.objects.filter(pk__in=raw_ids).update(payload=b"", meta={})
        message_count = messages.update(subject="", body_text=ERASED, body_html="", metadata={})
        tickets.update(subject=ERASED, custom_fields={})
        Survey = apps.get_model("metrics", "Survey") if apps.is_installed("metrics") else None
        if Survey is not None and any(f.name == "comment" for f in Survey._meta.get_fields()):
            Survey.objects.filter(customer=customer).update(comment="")
        for event in Event.objects.filter(
            Q(object_type="customer", object_id=customer.pk)
            | Q(object_type="identity", object_id__in=identity_ids)
            | Q(ticket_id__in=ticket_ids, field__in=["subject", "custom_fields"])
            | Q(object_type="message", object_id__in=message_ids)
        ).exclude(verb="erased"):
            _scrub_event(event)
        ConsentRecord.objects.filter(customer=customer).update(evidence={})
        customer.identities.all().delete()
        if customer.user_id:
            user = customer.user
            user.username = f"erased-customer-{customer.pk}"
            user.email, user.first_name, user.last_name, user.is_active = "", "", "", False
            user.set_unusable_password()
            user.save()
        customer.name = f"Erased customer {customer.pk}"
        customer.notes, customer.attributes = "", {}
        customer.save(update_fields=["name", "notes", "attributes"])
        counts = {
            "tickets": len(ticket_ids),
            "messages": message_count,
            "attachments": attachment_count,
            "identities": len(identity_ids),
        }
        event_record(obj=customer, verb="erased", data=counts, actor=actor)
        transaction.on_commit(lambda: _files_delete(files_to_check))
    return counts


def _files_delete(names: set[str]) -> None:
    """Delete stored files no other attachment still uses (storage is content-addressed)."""
    from django.core.files.storage import default_storage

    still_used = set(Attachment.objects.filter(file__in=names).values_list("file", flat=True))
    for name in names - still_used:
        try:
            default_storage.delete(name)
        except OSError:
            pass
