"""The one way an inbound message enters the help desk, whatever channel it came by.

    raw_inbound_store(...)   keep exactly what the provider sent (committed on its own)
    message_ingest(...)      dedupe -> customer -> ticket -> message + attachments -> events

Channel adapters call these two and nothing else; see docs in the README ("Data flow").
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from ..html import html_to_text, sanitize_html
from ..identities import InvalidIdentity
from ..inbound import InboundAttachment, InboundMessage, InboundSender, inbound_claim
from ..models import (
    CONVERSATIONAL_CHANNELS,
    UNSOLVED_STATUSES,
    Attachment,
    AuthorKind,
    Channel,
    Customer,
    DeliveryStatus,
    Message,
    MessageDirection,
    RawInbound,
    RawInboundStatus,
    Ticket,
    TicketStatus,
)
from ..sla.services import sla_deferred, sla_on_customer_message
from .customers import customer_resolve
from .events import Actor, event_record, events_deferred
from .tickets import ticket_change_status, ticket_create

logger = logging.getLogger(__name__)


class InboundRejected(ValidationError):
    """The inbound value cannot become a message (no usable sender, unknown channel)."""


@dataclass(frozen=True)
class IngestResult:
    message: Message | None
    ticket: Ticket | None
    customer: Customer | None
    created_ticket: bool = False
    duplicate: bool = False
    ignored_reason: str = ""


def raw_inbound_store(
    *,
    channel: str,
    payload: bytes,
    external_id: str | None = None,
    content_type: str = "",
    meta: Mapping[str, Any] | None = None,
) -> tuple[RawInbound, bool]:
    """Keep the raw payload before anything parses it; returns (raw, created).

    This commits on its own, so the payload survives a parser crash and can be replayed.
    A redelivery of the same (channel, external id) stores nothing new and only counts."""
    if channel not in Channel.values:
        raise InboundRejected(_("Unknown channel %(channel)s.") % {"channel": channel})
    external_id = (external_id or "").strip()[:512] or None
    if external_id and connection.vendor == "postgresql":
        return _raw_inbound_upsert(
            channel=channel,
            external_id=external_id,
            payload=bytes(payload),
            content_type=content_type[:255],
            meta=dict(meta or {}),
        )
    if external_id:
        bumped = RawInbound.objects.filter(channel=channel, external_id=external_id).update(
            deliveries=F("deliveries") + 1
        )
        if bumped:
            return RawInbound.objects.get(channel=channel, external_id=external_id), False
    try:
        with transaction.atomic():
            raw = RawInbound.objects.create(
                channel=channel,
                external_id=external_id,
                payload=bytes(payload),
                content_type=content_type[:255],
                meta=dict(meta or {}),
            )
        return raw, True
    except IntegrityError:
        RawInbound.objects.filter(channel=channel, external_id=external_id).update(deliveries=F("deliveries") + 1)
        return RawInbound.objects.get(channel=channel, external_id=external_id), False


def _raw_inbound_upsert(
    *, channel: str, external_id: str, payload: bytes, content_type: str, meta: dict[str, Any]
) -> tuple[RawInbound, bool]:
    """PostgreSQL: store the payload, or count one more delivery of it, in one statement (and
    one commit) instead of an UPDATE, then an INSERT in its own transaction."""
    table = RawInbound._meta.db_table
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} (channel, external_id, content_type, payload, meta, status, error,
                                     deliveries, received_at)
                VALUES (%s, %s, %s, %s, %s::jsonb, %s, '', 1, %s)
                ON CONFLICT (channel, external_id) WHERE external_id IS NOT NULL
                DO UPDATE SET deliveries = {table}.deliveries + 1
                RETURNING id, (xmax = 0)""",
            [channel, external_id, content_type, payload, json.dumps(meta), RawInboundStatus.RECEIVED, now],
        )
        raw_id, inserted = cursor.fetchone()
    if not inserted:
        return RawInbound.objects.get(pk=raw_id), False
    raw = RawInbound(
        id=raw_id,
        channel=channel,
        external_id=external_id,
        content_type=content_type,
        payload=payload,
        meta=meta,
        status=RawInboundStatus.RECEIVED,
        deliveries=1,
        received_at=now,
    )
    raw._state.adding = False
    raw._state.db = "default"
    return raw, True


def raw_inbound_mark(*, raw: RawInbound, status: str, error: str = "") -> None:
    RawInbound.objects.filter(pk=raw.pk).update(status=status, error=error[:10000], processed_at=timezone.now())
    raw.status, raw.error = status, error


def _follow_merges(ticket: Ticket) -> Ticket:
    seen = 0
    while ticket.merged_into_id and seen < 20:
        ticket = ticket.merged_into
        seen += 1
    return ticket


def _thread_target(inbound: InboundMessage, customer: Customer) -> tuple[Ticket | None, Ticket | None, str, bool]:
    """(ticket to add to, closed ticket to follow up, how it was matched, whether the ticket to
    add to was read under a row lock). The candidate is locked as it is read (the ingest
    transaction would lock it anyway), which saves reading it a second time."""
    candidate: Ticket | None = None
    how = ""
    if inbound.in_reply_to:
        earlier = (
            Message.objects.filter(channel=inbound.channel, external_id__in=list(inbound.in_reply_to)[:100])
            .select_related("ticket__merged_into")
            .select_for_update(of=("ticket",))
            .order_by("-created_at")
            .first()
        )
        if earlier is not None:
            candidate, how = earlier.ticket, "reply_to_message"
    if candidate is None and inbound.ticket_number:
        candidate = (
            Ticket.objects.filter(number=inbound.ticket_number)
            .filter(requester=customer)
            .select_related("merged_into")
            .select_for_update(of=("self",))
            .first()
        ) or (
            Ticket.objects.filter(number=inbound.ticket_number, followers=customer)
            .select_related("merged_into")
            .select_for_update(of=("self",))
            .first()
        )
        how = "ticket_number" if candidate else how
    if candidate is None and inbound.channel in CONVERSATIONAL_CHANNELS:
        since = timezone.now() - timedelta(days=settings.HELPDESK_THREAD_WINDOW_DAYS)
        candidate = (
            # Solved counts too: "it's still broken" right after solving reopens the ticket.
            Ticket.objects.filter(
                requester=customer, status__in=(*UNSOLVED_STATUSES, TicketStatus.SOLVED), updated_at__gte=since
            )
            .select_for_update(of=("self",))
            .order_by("-updated_at")
            .first()
        )
        how = "open_conversation" if candidate else how
    if candidate is None:
        return None, None, "", False
    locked = not candidate.merged_into_id
    candidate = _follow_merges(candidate)
    if candidate.status == TicketStatus.CLOSED:
        return None, candidate, how, False
    return candidate, None, how, locked


def _attachment_row(message: Message, item: InboundAttachment) -> Attachment:
    """An unsaved Attachment row for one inbound file, its content already on storage."""
    digest = hashlib.sha256(item.content).hexdigest()
    attachment = Attachment(
        message=message,
        filename=(item.filename or "attachment")[:255],
        content_type=(item.content_type or "application/octet-stream")[:255],
        size=len(item.content),
        sha256=digest,
        inline=item.inline,
        content_id=item.content_id[:255],
    )
    if len(item.content) > settings.HELPDESK_MAX_ATTACHMENT_BYTES:
        attachment.stored = False
    else:
        storage = Attachment._meta.get_field("file").storage
        name = f"attachments/{digest[:2]}/{digest}"
        # Content-addressed: a file received twice is kept once on disk.
        attachment.file.name = name if storage.exists(name) else storage.save(name, ContentFile(item.content))
    return attachment


def _subject_for(inbound: InboundMessage, text: str) -> str:
    if inbound.subject.strip():
        return inbound.subject
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if first_line:
        return first_line[:80] + ("…" if len(first_line) > 80 else "")
    return _("Message via %(channel)s") % {"channel": Channel(inbound.channel).label}


class _LostRace(Exception):
    pass


def message_ingest(*, inbound: InboundMessage, raw: RawInbound | None = None) -> IngestResult:
    """Turn one inbound value into one message on the right ticket, exactly once."""
    try:
        return _message_ingest(inbound=inbound, raw=raw)
    except _LostRace:
        existing = Message.objects.select_related("ticket", "author_customer").get(
            channel=inbound.channel, external_id=(inbound.external_id or "").strip()[:512]
        )
        _raw_mark_seen(raw, existing)
        return IngestResult(message=existing, ticket=existing.ticket, customer=existing.author_customer, duplicate=True)


def _raw_mark_seen(raw: RawInbound | None, existing: Message) -> None:
    """The message is already stored. From this very payload (another worker processed it at
    the same moment, or it is replayed): the payload is processed. From another payload (the
    provider delivered the message twice): this one is a duplicate."""
    if raw is None:
        return
    if existing.raw_id == raw.pk:
        if RawInbound.objects.filter(pk=raw.pk).exclude(status=RawInboundStatus.PROCESSED).exists():
            raw_inbound_mark(raw=raw, status=RawInboundStatus.PROCESSED)
    else:
        raw_inbound_mark(raw=raw, status=RawInboundStatus.DUPLICATE)


def _message_ingest(*, inbound: InboundMessage, raw: RawInbound | None) -> IngestResult:
    if inbound.channel not in Channel.values or inbound.channel == Channel.INTERNAL:
        raise InboundRejected(_("Unknown channel %(channel)s.") % {"channel": inbound.channel})
    external_id = (inbound.external_id or "").strip()[:512] or None

    # Only what must happen with the message is done here, in one transaction: dedupe, the
    # customer, threading, the ticket, the message, its attachments and the audit events.
    # SLA clocks, routing, triggers, notifications, webhooks, live pushes and the
    # message_ingested hook run after commit in one follow-up task (`ingest_followups_task`),
    # so a busy rule set or a slow webhook never slows the intake of mail.
    with transaction.atomic(), events_deferred() as event_ids, sla_deferred() as sla_ops:
        if external_id and not _first_delivery(raw, external_id, inbound.channel):
            existing = (
                Message.objects.filter(channel=inbound.channel, external_id=external_id)
                .select_related("ticket")
                .first()
            )
            if existing is not None:
                if raw is None or raw.status != RawInboundStatus.PROCESSED:
                    _raw_mark_seen(raw, existing)
                return IngestResult(
                    message=existing, ticket=existing.ticket, customer=existing.author_customer, duplicate=True
                )

        try:
            customer, _created = customer_resolve(
                kind=inbound.sender.kind,
                value=inbound.sender.value,
                name=inbound.sender.name,
                language=inbound.language,
            )
        except InvalidIdentity as exc:
            raise InboundRejected(str(exc)) from exc
        actor = Actor.of_customer(customer)

        body_html = sanitize_html(inbound.body_html)
        body_text = inbound.body_text or html_to_text(body_html)
        ticket, closed_ticket, how, locked = _thread_target(inbound, customer)

        if ticket is None and inbound.is_auto_reply:
            # An automatic reply that answers nothing of ours must not open a ticket (it
            # would start a mail loop). The raw payload is kept, marked with the reason.
            reason = _("Automatic reply not linked to any ticket.")
            if raw is not None:
                raw_inbound_mark(raw=raw, status=RawInboundStatus.IGNORED, error=reason)
            return IngestResult(message=None, ticket=None, customer=customer, ignored_reason=reason)

        created_ticket = ticket is None
        if ticket is None:
            ticket = ticket_create(
                requester=customer,
                subject=_subject_for(inbound, body_text),
                channel=inbound.channel,
                language=inbound.language,
                follow_up_of=closed_ticket,
                actor=actor,
            )
        elif not locked:
            ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)

        now = timezone.now()
        try:
            # No savepoint: a duplicate caught by the unique (channel, external id) index
            # rolls this whole ingest back (see message_ingest), which is what we want.
            message = Message.objects.create(
                ticket=ticket,
                direction=MessageDirection.INBOUND,
                author_kind=AuthorKind.CUSTOMER,
                author_customer=customer,
                channel=inbound.channel,
                subject=inbound.subject[:255],
                body_text=body_text,
                body_html=body_html,
                external_id=external_id,
                delivery_status=DeliveryStatus.RECEIVED,
                raw=raw,
                metadata=_message_metadata(inbound),
                created_at=now,
                sent_at=inbound.sent_at,
            )
        except IntegrityError as exc:
            # The same delivery won a race against us between the check and the insert:
            # undo everything this attempt wrote and report theirs.
            raise _LostRace from exc

        if inbound.attachments:
            _store_attachments(message, inbound.attachments)

        # A message another app recognises (a survey answer) is not a new request: no reopen,
        # no SLA clock, no "customer waiting" (see inbound_claim in tickets/inbound.py).
        claimed_by = None if created_ticket or inbound.is_auto_reply else inbound_claim(ticket=ticket, message=message)
        if claimed_by:
            message.refresh_from_db(fields=["metadata"])
            message.metadata["claimed_by"] = claimed_by
            message.save(update_fields=["metadata"])
            Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
            ticket.updated_at = now
        else:
            Ticket.objects.filter(pk=ticket.pk).update(last_customer_message_at=now, updated_at=now)
            ticket.last_customer_message_at = ticket.updated_at = now
        event_record(
            obj=message,
            ticket=ticket,
            verb="message_received",
            data={"channel": inbound.channel, "external_id": external_id, "threaded_by": how or "new_ticket"},
            actor=actor,
        )
        request = not inbound.is_auto_reply and not claimed_by
        if request and ticket.status in (TicketStatus.PENDING, TicketStatus.SOLVED):
            # The customer answered: the ball is back in the team's court.
            ticket_change_status(ticket=ticket, status=TicketStatus.OPEN, actor=actor)
        if request:
            sla_on_customer_message(ticket=ticket, message=message)
        if inbound.cc:
            _followers_add(ticket, inbound.cc, customer, actor)
        if raw is not None:
            raw_inbound_mark(raw=raw, status=RawInboundStatus.PROCESSED)

        from ..tasks import ingest_followups_task

        followup = (message.pk, list(event_ids), [[ticket_id, ops] for ticket_id, ops in sla_ops.items()])
        transaction.on_commit(lambda: ingest_followups_task.delay(*followup))

    return IngestResult(message=message, ticket=ticket, customer=customer, created_ticket=created_ticket)


def _first_delivery(raw: RawInbound | None, external_id: str, channel: str) -> bool:
    """This payload was just stored for the first time under this very (channel, external id):
    the raw table's unique index already says no earlier delivery came this way, so the
    lookup of an existing message is skipped (a message with this id stored some other way is
    still caught by the message table's own unique index, which rolls the ingest back)."""
    return (
        raw is not None
        and raw.status == RawInboundStatus.RECEIVED
        and raw.deliveries == 1
        and raw.channel == channel
        and raw.external_id == external_id
    )


def _message_metadata(inbound: InboundMessage) -> dict[str, Any]:
    return dict(inbound.metadata)


def _store_attachment(message: Message, item: InboundAttachment) -> Attachment:
    """Keep one file and write its attachment row (used by the API's upload service too)."""
    attachment = _attachment_row(message, item)
    attachment.save()
    return attachment


def _store_attachments(message: Message, items: tuple[InboundAttachment, ...]) -> None:
    """Keep each file (content-addressed on disk) and write all attachment rows in one INSERT."""
    rows = [_attachment_row(message, item) for item in items]
    Attachment.objects.bulk_create(rows)
    refused = [{"filename": a.filename, "size": a.size} for a in rows if not a.stored]
    if refused:
        message.metadata["attachments_refused"] = {
            "limit_bytes": settings.HELPDESK_MAX_ATTACHMENT_BYTES,
            "files": refused,
        }
        message.save(update_fields=["metadata"])


def _followers_add(ticket: Ticket, cc: tuple[InboundSender, ...], requester: Customer, actor: Actor) -> None:
    for person in cc:
        try:
            follower, _created = customer_resolve(kind=person.kind, value=person.value, name=person.name)
        except InvalidIdentity:
            logger.info("Skipping an unusable CC %r on ticket %s", person.value, ticket.number)
            continue
        if follower.pk == requester.pk or ticket.followers.filter(pk=follower.pk).exists():
            continue
        ticket.followers.add(follower)
        event_record(obj=ticket, verb="follower_added", new=follower, actor=actor)
