"""Writes the API needs that no service elsewhere covers yet: attachments on an agent's message,
macros, SLA policies and business-hours calendars, and bulk ticket changes. Same conventions as
`tickets.services`: keyword-only arguments, an `actor`, a permission check, one transaction, an
audit Event per change. (Candidates to move under tickets/services/ and tickets/sla/.)"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ..inbound import InboundAttachment
from ..models import Attachment, Macro, Message, Ticket
from ..models_sla import BusinessCalendar, BusinessHoliday, BusinessInterval, SlaPolicy, SlaTarget
from ..selectors import ticket_list
from ..services.events import Actor, event_record, event_record_changes
from ..services.ingest import _store_attachment
from ..services.tickets import ticket_change_status, ticket_tags_set, ticket_update


def _require(actor: Actor, perm: str, message: str) -> None:
    user = actor.user
    if user is None or not user.has_perm(perm):
        raise PermissionDenied(message)


# --- Attachments -----------------------------------------------------------------------------------


def max_attachment_bytes() -> int:
    return int(settings.HELPDESK_MAX_ATTACHMENT_BYTES)


def max_attachments_per_message() -> int:
    return int(getattr(settings, "API_MAX_ATTACHMENTS_PER_MESSAGE", 10))


def attachments_check(files: Sequence[UploadedFile]) -> None:
    """Refuse, before anything is stored, too many files, an empty one or one too large."""
    limit = max_attachments_per_message()
    if len(files) > limit:
        message = _("At most %(n)s files per message; %(got)s were sent.") % {"n": limit, "got": len(files)}
        raise ValidationError({"attachments": [ValidationError(message, code="too_many_attachments")]})
    problems = []
    for upload in files:
        name = upload.name or "attachment"
        if not upload.size:
            problems.append(ValidationError(_("%(name)s is empty.") % {"name": name}, code="attachment_empty"))
        elif upload.size > max_attachment_bytes():
            message = _("%(name)s is %(size)s bytes; the limit is %(limit)s bytes.") % {
                "name": name,
                "size": upload.size,
                "limit": max_attachment_bytes(),
            }
            problems.append(ValidationError(message, code="attachment_too_large"))
    if problems:
        raise ValidationError({"attachments": problems})


def message_attachments_add(*, message: Message, files: Sequence[UploadedFile], actor: Actor) -> list[Attachment]:
    """Store uploaded files on a message (content-addressed, like inbound attachments). Call in
    the transaction that created the message, so its delivery (after commit) sends them."""
    attachments_check(files)
    stored = []
    with transaction.atomic():
        for upload in files:
            name = (upload.name or "attachment").replace("/", "_").replace("\\", "_")[:255]
            content_type = upload.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
            item = InboundAttachment(filename=name, content_type=content_type, content=upload.read())
            attachment = _store_attachment(message, item)
            event_record(
                obj=message,
                ticket=message.ticket,
                verb="attachment_added",
                data={"attachment": attachment.pk, "filename": name, "size": attachment.size},
                actor=actor,
            )
            stored.append(attachment)
    return stored


# --- Macros -----------------------------------------------------------------------------------------

MACRO_ACTION_FIELDS = ("status", "priority", "type", "team", "assignee", "add_tags", "remove_tags")
MACRO_FIELDS = ("name", "description", "body", "actions", "team", "is_active")


def macro_actions_clean(actions: Any) -> list[dict[str, Any]]:
    if not isinstance(actions, list):
        raise ValidationError({"actions": [_("A list of {field, value} changes.")]})
    cleaned = []
    for index, action in enumerate(actions):
        if not isinstance(action, dict) or set(action) != {"field", "value"}:
            raise ValidationError({"actions": [_("Item %(i)s: give exactly field and value.") % {"i": index}]})
        if action["field"] not in MACRO_ACTION_FIELDS:
            raise ValidationError(
                {
                    "actions": [
                        _("Item %(i)s: %(field)s cannot be set by a macro; use one of %(allowed)s.")
                        % {"i": index, "field": action["field"], "allowed": ", ".join(MACRO_ACTION_FIELDS)}
                    ]
                }
            )
        cleaned.append({"field": action["field"], "value": action["value"]})
    return cleaned


def macro_create(*, actor: Actor, **fields: Any) -> Macro:
    _require(actor, "tickets.add_macro", _("Your role cannot create macros."))
    unknown = set(fields) - set(MACRO_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown macro fields: %(f)s.") % {"f": ", ".join(sorted(unknown))})
    if "actions" in fields:
        fields["actions"] = macro_actions_clean(fields["actions"])
    macro = Macro(created_by=actor.user, **fields)
    macro.full_clean()
    with transaction.atomic():
        macro.save()
        event_record(obj=macro, verb="created", new={k: fields[k] for k in fields}, actor=actor)
    return macro


def macro_update(*, macro: Macro, changes: Mapping[str, Any], actor: Actor) -> Macro:
    _require(actor, "tickets.change_macro", _("Your role cannot change macros."))
    unknown = set(changes) - set(MACRO_FIELDS)
    if unknown:
        raise ValidationError(_("These fields cannot be changed: %(f)s.") % {"f": ", ".join(sorted(unknown))})
    changes = dict(changes)
    if "actions" in changes:
        changes["actions"] = macro_actions_clean(changes["actions"])
    with transaction.atomic():
        locked = Macro.objects.select_for_update().get(pk=macro.pk)
        diffs = [
            (name, getattr(locked, name), value) for name, value in changes.items() if getattr(locked, name) != value
        ]
        for name, _old, value in diffs:
            setattr(locked, name, value)
        if diffs:
            locked.full_clean()
            locked.save(update_fields=[name for name, _o, _n in diffs])
            event_record_changes(obj=locked, changes=diffs, actor=actor)
    return locked


def macro_delete(*, macro: Macro, actor: Actor) -> None:
    _require(actor, "tickets.delete_macro", _("Your role cannot delete macros."))
    with transaction.atomic():
        event_record(obj=macro, verb="deleted", data={"name": macro.name}, actor=actor)
        macro.delete()


# --- SLA policies and business hours ------------------------------------------------------------------


# Saving a policy, target or calendar re-applies it to the unsolved tickets by itself: the
# model signals of tickets.sla.reapply queue one batched re-apply after commit.


POLICY_FIELDS = (
    "name",
    "description",
    "position",
    "is_active",
    "priorities",
    "tiers",
    "channels",
    "calendar",
    "warn_before_minutes",
    "breach_raise_priority",
    "breach_reassign_to",
)


def _targets_replace(policy: SlaPolicy, targets: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    seen = set()
    for index, data in enumerate(targets):
        key = (data["metric"], data.get("priority", ""))
        if key in seen:
            raise ValidationError(
                {
                    "targets": [
                        _("Item %(i)s: a second target for %(metric)s / %(priority)s.")
                        % {"i": index, "metric": key[0], "priority": key[1] or _("any priority")}
                    ]
                }
            )
        seen.add(key)
        target = SlaTarget(
            policy=policy,
            metric=data["metric"],
            priority=data.get("priority", ""),
            minutes=data["minutes"],
            business_hours=data.get("business_hours", True),
        )
        target.full_clean(exclude=["policy"], validate_unique=False)
        rows.append(target)
    policy.targets.all().delete()
    SlaTarget.objects.bulk_create(rows)
    return [
        {"metric": t.metric, "priority": t.priority, "minutes": t.minutes, "business_hours": t.business_hours}
        for t in rows
    ]


def _m2m_set(policy: SlaPolicy, name: str, values: Iterable[Any]) -> tuple[list[int], list[int]]:
    manager = getattr(policy, name)
    old = sorted(manager.values_list("pk", flat=True))
    new = sorted({v.pk for v in values})
    if old != new:
        manager.set(new)
    return old, new


def sla_policy_save(*, actor: Actor, policy: SlaPolicy | None = None, data: Mapping[str, Any]) -> SlaPolicy:
    """Create a policy (policy None) or change one: plain fields, organizations, teams and,
    when given, the complete list of targets. Validated by the models' clean(); then every
    unsolved ticket's SLA is re-applied."""
    creating = policy is None
    _require(
        actor,
        "tickets.add_slapolicy" if creating else "tickets.change_slapolicy",
        _("Your role cannot create SLA policies.") if creating else _("Your role cannot change SLA policies."),
    )
    data = dict(data)
    organizations, teams, targets = data.pop("organizations", None), data.pop("teams", None), data.pop("targets", None)
    with transaction.atomic():
        if creating:
            policy = SlaPolicy(**{k: v for k, v in data.items() if k in POLICY_FIELDS})
            diffs: list[tuple[str, Any, Any]] = []
        else:
            policy = SlaPolicy.objects.select_for_update().get(pk=policy.pk)
            diffs = [
                (k, getattr(policy, k), v) for k, v in data.items() if k in POLICY_FIELDS and getattr(policy, k) != v
            ]
            for name, _old, value in diffs:
                setattr(policy, name, value)
        policy.full_clean()
        try:
            with transaction.atomic():
                policy.save()
        except IntegrityError as exc:
            raise ValidationError({"name": [_("An SLA policy with this name already exists.")]}) from exc
        m2m = []
        for name, values in (("organizations", organizations), ("teams", teams)):
            if values is not None:
                old, new = _m2m_set(policy, name, values)
                if old != new:
                    m2m.append((name, old, new))
        new_targets = _targets_replace(policy, targets) if targets is not None else None
        if creating:
            event_record(obj=policy, verb="created", new={"name": policy.name, "targets": new_targets}, actor=actor)
        else:
            event_record_changes(obj=policy, changes=[*diffs, *m2m], actor=actor)
            if new_targets is not None:
                event_record(obj=policy, verb="targets_set", new=new_targets, actor=actor)
    return policy


def sla_policy_delete(*, policy: SlaPolicy, actor: Actor) -> None:
    _require(actor, "tickets.delete_slapolicy", _("Your role cannot delete SLA policies."))
    with transaction.atomic():
        event_record(obj=policy, verb="deleted", data={"name": policy.name}, actor=actor)
        policy.delete()


CALENDAR_FIELDS = ("name", "time_zone", "holiday_country", "holiday_subdivision")


def business_calendar_save(
    *, actor: Actor, calendar: BusinessCalendar | None = None, data: Mapping[str, Any]
) -> BusinessCalendar:
    """Create or change a business-hours calendar; `intervals` and `holidays`, when given,
    replace the calendar's lists. Validated by the models' clean(); then SLAs are re-applied."""
    creating = calendar is None
    _require(
        actor,
        "tickets.add_businesscalendar" if creating else "tickets.change_businesscalendar",
        _("Your role cannot change business hours."),
    )
    data = dict(data)
    intervals, holidays = data.pop("intervals", None), data.pop("holidays", None)
    with transaction.atomic():
        if creating:
            calendar = BusinessCalendar(**{k: v for k, v in data.items() if k in CALENDAR_FIELDS})
            diffs: list[tuple[str, Any, Any]] = []
        else:
            calendar = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
            diffs = [
                (k, getattr(calendar, k), v)
                for k, v in data.items()
                if k in CALENDAR_FIELDS and getattr(calendar, k) != v
            ]
            for name, _old, value in diffs:
                setattr(calendar, name, value)
        calendar.full_clean()
        try:
            with transaction.atomic():
                calendar.save()
        except IntegrityError as exc:
            raise ValidationError({"name": [_("A calendar with this name already exists.")]}) from exc
        if intervals is not None:
            rows = [BusinessInterval(calendar=calendar, **item) for item in intervals]
            for row in rows:
                row.full_clean(exclude=["calendar"])
            calendar.intervals.all().delete()
            BusinessInterval.objects.bulk_create(rows)
            diffs.append(("intervals", None, [str(r) for r in rows]))
        if holidays is not None:
            days = [BusinessHoliday(calendar=calendar, **item) for item in holidays]
            if len({d.date for d in days}) != len(days):
                raise ValidationError({"holidays": [_("A date appears twice.")]})
            for day in days:
                day.full_clean(exclude=["calendar"], validate_unique=False)
            calendar.holidays.all().delete()
            BusinessHoliday.objects.bulk_create(days)
            diffs.append(("holidays", None, [str(d) for d in days]))
        if creating:
            event_record(obj=calendar, verb="created", new={"name": calendar.name}, actor=actor)
        else:
            event_record_changes(obj=calendar, changes=diffs, actor=actor)
    return calendar


# --- Bulk ticket changes -------------------------------------------------------------------------


def bulk_max_tickets() -> int:
    return int(getattr(settings, "API_BULK_MAX_TICKETS", 100))


@dataclass
class BulkOutcome:
    number: int
    ok: bool
    code: str = ""
    message: str = ""
    ticket: Ticket | None = None
    changed: list[str] = field(default_factory=list)


def _error(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, PermissionDenied):
        return "permission_denied", str(exc) or _("You are not allowed to do that.")
    assert isinstance(exc, ValidationError)
    codes = {
        e.code
        for e in (
            exc.error_list if not hasattr(exc, "error_dict") else [e for es in exc.error_dict.values() for e in es]
        )
        if e.code
    }
    return (codes.pop() if len(codes) == 1 else "invalid"), " ".join(str(m) for m in exc.messages)


def ticket_bulk_update(
    *, user: AbstractBaseUser, numbers: Sequence[int], changes: Mapping[str, Any], actor: Actor
) -> list[BulkOutcome]:
    """Apply the same changes (status, priority, assignee, team, tags_add, tags_remove) to
    each ticket in turn, each in its own transaction through the ticket services, so one
    refusal does not undo or stop the others. A ticket the user cannot see is `not_found`."""
    if len(numbers) > bulk_max_tickets():
        raise ValidationError(
            {"tickets": [_("At most %(n)s tickets per request.") % {"n": bulk_max_tickets()}]}, code="too_many_tickets"
        )
    visible = {t.number: t for t in ticket_list(user=user).filter(number__in=list(numbers))}
    fields = {k: v for k, v in changes.items() if k in ("priority", "assignee", "team")}
    add = {n.strip().lower() for n in changes.get("tags_add") or [] if n.strip()}
    remove = {n.strip().lower() for n in changes.get("tags_remove") or [] if n.strip()}
    status = changes.get("status")
    outcomes = []
    for number in numbers:
        ticket = visible.get(number)
        if ticket is None:
            outcomes.append(
                BulkOutcome(number, False, "not_found", _("No ticket #%(n)s that you can see.") % {"n": number})
            )
            continue
        try:
            with transaction.atomic():
                if fields:
                    ticket_update(ticket=ticket, changes=fields, actor=actor)
                if add or remove:
                    current = set(ticket.tags.values_list("name", flat=True))
                    ticket_tags_set(ticket=ticket, names=(current | add) - remove, actor=actor)
                if status:
                    ticket_change_status(ticket=ticket, status=status, actor=actor)
        except (ValidationError, PermissionDenied) as exc:
            code, message = _error(exc)
            outcomes.append(BulkOutcome(number, False, code, message))
        else:
            outcomes.append(BulkOutcome(number, True, ticket=ticket))
    return outcomes
