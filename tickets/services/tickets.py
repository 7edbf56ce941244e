"""Writes to tickets: create, change status, update fields, assign, tag, reply, merge.

Each service checks what the actor may do, owns its transaction and records an Event for
every change. Views, the API, the admin and Celery tasks call these and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..html import html_to_text, sanitize_html
from ..models import (
    TICKET_TRANSITIONS,
    AuthorKind,
    Channel,
    Customer,
    DeliveryStatus,
    Message,
    MessageDirection,
    Organization,
    Tag,
    Team,
    Ticket,
    TicketPriority,
    TicketStatus,
    TicketType,
)
from ..numbers import ticket_number_next
from ..signals import ticket_solved
from ..sla.services import sla_apply, sla_on_agent_reply, sla_on_status_change
from .events import Actor, event_record, event_record_changes


class TicketTransitionError(ValidationError):
    """A status change the workflow does not allow."""


def _status_label(status: str) -> str:
    return str(TicketStatus(status).label)


def ticket_create(
    *,
    requester: Customer,
    subject: str,
    channel: str,
    actor: Actor,
    priority: str = TicketPriority.NORMAL,
    type: str = TicketType.QUESTION,
    team: Team | None = None,
    assignee: AbstractBaseUser | None = None,
    language: str = "",
    custom_fields: Mapping[str, Any] | None = None,
    follow_up_of: Ticket | None = None,
) -> Ticket:
    if channel not in Channel.values:
        raise ValidationError(_("Unknown channel %(channel)s.") % {"channel": channel})
    subject = " ".join((subject or "").split())[:255] or _("(no subject)")
    now = timezone.now()
    with transaction.atomic():
        ticket = Ticket(
            number=ticket_number_next(),
            subject=subject,
            channel=channel,
            requester=requester,
            organization=requester.organization,
            priority=priority,
            type=type,
            team=team,
            assignee=assignee,
            language=language or requester.language,
            custom_fields=dict(custom_fields or {}),
            follow_up_of=follow_up_of,
            created_at=now,
            updated_at=now,
        )
        ticket.full_clean(exclude=["number", "requester", "organization", "team", "assignee", "follow_up_of"])
        ticket.save()
        data: dict[str, Any] = {"number": ticket.number, "subject": subject, "channel": channel}
        if follow_up_of is not None:
            data["follow_up_of"] = follow_up_of.number
        event_record(obj=ticket, verb="created", new=TicketStatus.NEW, data=data, actor=actor)
        sla_apply(ticket)
        if follow_up_of is not None:
            event_record(
                obj=follow_up_of,
                verb="follow_up_created",
                data={"follow_up": ticket.number},
                actor=actor,
            )
    return ticket


def _check_can_change(ticket: Ticket, actor: Actor) -> None:
    user = actor.user
    if actor.kind in ("agent", "api") and user is not None and not user.has_perm("tickets.change_ticket"):
        raise PermissionDenied(_("Your role cannot change tickets."))


def ticket_change_status(*, ticket: Ticket, status: str, actor: Actor) -> Ticket:
    """Move a ticket through new -> open -> pending / on hold -> solved -> closed (and
    solved -> open to reopen). Anything else is refused with an explanation."""
    if status not in TicketStatus.values:
        raise TicketTransitionError(_("%(status)s is not a ticket status.") % {"status": status})
    _check_can_change(ticket, actor)
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        old = locked.status
        if old == status:
            return locked
        if not locked.can_transition_to(status):
            allowed = sorted(_status_label(s) for s in TICKET_TRANSITIONS[old])
            if old == TicketStatus.CLOSED:
                hint = _("Closed tickets are final; a new message from the customer opens a follow-up.")
            else:
                hint = _("From %(old)s it can go to: %(allowed)s.") % {
                    "old": _status_label(old),
                    "allowed": ", ".join(allowed),
                }
            raise TicketTransitionError(
                _("Ticket #%(number)s cannot go from %(old)s to %(new)s. %(hint)s")
                % {"number": locked.number, "old": _status_label(old), "new": _status_label(status), "hint": hint},
                code="invalid_transition",
            )
        now = timezone.now()
        locked.status = status
        locked.updated_at = now
        fields = ["status", "updated_at"]
        if status == TicketStatus.SOLVED:
            locked.solved_at = now
            fields.append("solved_at")
        elif status == TicketStatus.CLOSED:
            locked.closed_at = now
            fields.append("closed_at")
        elif old == TicketStatus.SOLVED:  # reopened
            locked.solved_at = None
            fields.append("solved_at")
        locked.save(update_fields=fields)
        verb = "reopened" if old == TicketStatus.SOLVED and status == TicketStatus.OPEN else "changed"
        event_record(obj=locked, verb=verb, field="status", old=old, new=status, actor=actor)
        sla_on_status_change(ticket=locked, old=old, new=status, actor=actor, now=now)
        if status == TicketStatus.SOLVED:
            solved_id = locked.pk
            transaction.on_commit(lambda: ticket_solved.send(sender=Ticket, ticket_id=solved_id))
    _refresh(ticket, locked)
    return ticket


def _refresh(target: Ticket, source: Ticket) -> None:
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


# Fields ticket_update may change (status and tags have their own services).
TICKET_UPDATABLE_FIELDS = (
    "subject",
    "priority",
    "type",
    "team",
    "assignee",
    "organization",
    "custom_fields",
    "language",
)


def ticket_update(*, ticket: Ticket, changes: Mapping[str, Any], actor: Actor) -> Ticket:
    """Change any of subject, priority, type, team, assignee, organization, language or
    custom fields; only the keys given are touched. Status has its own service."""
    unknown = set(changes) - set(TICKET_UPDATABLE_FIELDS)
    if unknown:
        raise ValidationError(
            _("These ticket fields cannot be changed here: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    _check_can_change(ticket, actor)
    if "assignee" in changes and changes["assignee"] is not None:
        _check_assignable(changes["assignee"])
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        diffs = []
        for field, new in changes.items():
            if field == "custom_fields":
                new = {**locked.custom_fields, **dict(new)}
            old = getattr(locked, field)
            if old != new:
                diffs.append((field, old, new))
                setattr(locked, field, new)
        if not diffs:
            return ticket
        locked.updated_at = timezone.now()
        locked.full_clean(
            exclude=["number", "requester", "organization", "team", "assignee", "follow_up_of", "merged_into"]
        )
        locked.save(update_fields=[f for f, _o, _n in diffs] + ["updated_at"])
        for field, old, new in diffs:
            verb = "assigned" if field == "assignee" else "changed"
            event_record_changes(obj=locked, changes=[(field, old, new)], actor=actor, verb=verb)
        if {"priority", "team", "organization"} & {f for f, _o, _n in diffs}:
            sla_apply(locked, why="ticket changed")
    _refresh(ticket, locked)
    return ticket


def _check_assignable(user: AbstractBaseUser) -> None:
    if not user.is_active or not hasattr(user, "agent_profile"):
        raise ValidationError(_("%(user)s is not an active agent.") % {"user": user.get_username()})
    if not user.has_perm("tickets.change_ticket"):
        raise ValidationError(_("%(user)s's role cannot work tickets.") % {"user": user.get_username()})


def ticket_assign(
    *, ticket: Ticket, assignee: AbstractBaseUser | None, actor: Actor, team: Team | None = None
) -> Ticket:
    changes: dict[str, Any] = {"assignee": assignee}
    if team is not None:
        changes["team"] = team
    return ticket_update(ticket=ticket, changes=changes, actor=actor)


def ticket_tags_set(*, ticket: Ticket, names: Iterable[str], actor: Actor) -> list[str]:
    """Make the ticket's tags exactly `names` (created as needed); returns the new list."""
    _check_can_change(ticket, actor)
    wanted = sorted({n.strip().lower() for n in names if n and n.strip()})
    with transaction.atomic():
        current = sorted(ticket.tags.values_list("name", flat=True))
        if current == wanted:
            return current
        tags = [Tag.objects.get_or_create(name=name)[0] for name in wanted]
        ticket.tags.set(tags)
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
        event_record(obj=ticket, verb="changed", field="tags", old=current, new=wanted, actor=actor)
    return wanted


def ticket_tags_add(*, ticket: Ticket, names: Iterable[str], actor: Actor) -> list[str]:
    current = set(ticket.tags.values_list("name", flat=True))
    return ticket_tags_set(ticket=ticket, names=current | set(names), actor=actor)


def ticket_reply(
    *,
    ticket: Ticket,
    author: AbstractBaseUser,
    body_text: str = "",
    body_html: str = "",
    is_internal: bool = False,
    channel: str | None = None,
    actor: Actor | None = None,
) -> Message:
    """An agent's reply (queued for delivery on the ticket's channel) or internal note."""
    actor = actor or Actor.agent(author)
    if is_internal:
        if not author.has_perm("tickets.add_message"):
            raise PermissionDenied(_("Your role cannot add notes."))
    elif not author.has_perm("tickets.reply_publicly"):
        raise PermissionDenied(_("Your role can add internal notes but cannot reply to customers."))
    clean_html = sanitize_html(body_html)
    text = (body_text or html_to_text(clean_html)).strip()
    if not text:
        raise ValidationError(_("A reply needs some text."))
    if ticket.status == TicketStatus.CLOSED and not is_internal:
        raise ValidationError(
            _("Ticket #%(number)s is closed; open a follow-up to write to the customer.") % {"number": ticket.number}
        )
    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.create(
            ticket=ticket,
            direction=MessageDirection.OUTBOUND,
            author_kind=AuthorKind.AGENT,
            author_user=author,
            channel=Channel.INTERNAL if is_internal else (channel or reply_channel_for(ticket)),
            subject=ticket.subject,
            body_text=text,
            body_html=clean_html,
            is_internal=is_internal,
            delivery_status=DeliveryStatus.NOT_SENT if is_internal else DeliveryStatus.QUEUED,
            created_at=now,
        )
        updates: dict[str, Any] = {"updated_at": now}
        if not is_internal:
            updates["last_agent_message_at"] = now
            if ticket.first_responded_at is None:
                updates["first_responded_at"] = now
        Ticket.objects.filter(pk=ticket.pk).update(**updates)
        for key, value in updates.items():
            setattr(ticket, key, value)
        event_record(
            obj=message,
            ticket=ticket,
            verb="note_added" if is_internal else "reply_queued",
            data={"channel": message.channel},
            actor=actor,
        )
        if not is_internal and ticket.status == TicketStatus.NEW:
            ticket_change_status(ticket=ticket, status=TicketStatus.OPEN, actor=actor)
        if not is_internal:
            sla_on_agent_reply(ticket=ticket, message=message)
            from ..tasks import message_deliver_task

            transaction.on_commit(lambda: message_deliver_task.delay(message.pk))
    return message


# A customer's identity kind -> the channel that can write back to it.
IDENTITY_CHANNEL = {
    "email": Channel.EMAIL,
    "phone": Channel.SMS,
    "whatsapp": Channel.WHATSAPP,
    "messenger": Channel.MESSENGER,
    "instagram": Channel.INSTAGRAM,
    "telegram": Channel.TELEGRAM,
    "chat": Channel.CHAT,
}


def reply_channel_for(ticket: Ticket) -> str:
    """Answer on the channel the customer last wrote on. When that channel cannot send (a
    web form, the API), use the customer's preferred channel, then any channel one of their
    identities can be reached on (email first), provided a sender is set up for it."""
    from ..outbound import sender_for

    last = (
        ticket.messages.filter(direction=MessageDirection.INBOUND)
        .order_by("-created_at", "-id")
        .values_list("channel", flat=True)
        .first()
    ) or ticket.channel
    if sender_for(last) is not None:
        return last
    requester = ticket.requester
    candidates = [requester.preferred_channel] if requester.preferred_channel else []
    kinds = set(requester.identities.values_list("kind", flat=True))
    candidates += [channel for kind, channel in IDENTITY_CHANNEL.items() if kind in kinds]
    for channel in candidates:
        if sender_for(channel) is not None:
            return channel
    return last  # nothing can reach the customer: the delivery fails visibly with the reason


def system_message_queue(
    *, ticket: Ticket, channel: str, body_text: str, kind: str, metadata: Mapping[str, Any] | None = None
) -> Message:
    """Queue an automatic message from the help desk itself to the ticket's customer (e.g. the
    acknowledgement of a new ticket). It is sent marked as automatic (Auto-Submitted) and,
    not being an agent's answer, leaves first/last response times alone."""
    with transaction.atomic():
        message = Message.objects.create(
            ticket=ticket,
            direction=MessageDirection.OUTBOUND,
            author_kind=AuthorKind.SYSTEM,
            channel=channel,
            subject=ticket.subject,
            body_text=body_text,
            delivery_status=DeliveryStatus.QUEUED,
            metadata={"kind": kind, "auto_submitted": True, **dict(metadata or {})},
            created_at=timezone.now(),
        )
        event_record(
            obj=message,
            ticket=ticket,
            verb="system_message_queued",
            data={"channel": channel, "kind": kind},
            actor=Actor.system(),
        )
        from ..tasks import message_deliver_task

        message_id = message.pk
        transaction.on_commit(lambda: message_deliver_task.delay(message_id))
    return message


def ticket_merge(*, source: Ticket, target: Ticket, actor: Actor) -> Ticket:
    """Move every message of `source` onto `target` and close `source` for good."""
    if source.pk == target.pk:
        raise ValidationError(_("A ticket cannot be merged into itself."))
    if actor.user is not None and not actor.user.has_perm("tickets.merge_ticket"):
        raise PermissionDenied(_("Your role cannot merge tickets."))
    if target.status == TicketStatus.CLOSED:
        raise ValidationError(
            _("Ticket #%(number)s is closed and cannot take more messages.") % {"number": target.number}
        )
    now = timezone.now()
    with transaction.atomic():
        moved = Message.objects.filter(ticket=source).update(ticket=target)
        old_status = source.status
        Ticket.objects.filter(pk=source.pk).update(
            status=TicketStatus.CLOSED, closed_at=now, updated_at=now, merged_into=target
        )
        Ticket.objects.filter(pk=target.pk).update(updated_at=now)
        source.refresh_from_db()
        event_record(
            obj=source,
            verb="merged",
            field="status",
            old=old_status,
            new=TicketStatus.CLOSED,
            data={"into": target.number, "messages_moved": moved},
            actor=actor,
        )
        sla_on_status_change(ticket=source, old=old_status, new=TicketStatus.CLOSED, actor=actor)
        event_record(obj=target, verb="merged_in", data={"from": source.number, "messages_moved": moved}, actor=actor)
    return target


def organization_set(*, customer: Customer, organization: Organization | None, actor: Actor) -> Customer:
    old = customer.organization
    if old == organization:
        return customer
    customer.organization = organization
    customer.save(update_fields=["organization"])
    event_record(obj=customer, verb="changed", field="organization", old=old, new=organization, actor=actor)
    return customer
