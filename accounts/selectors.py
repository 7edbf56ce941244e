"""Reads for the accounts pages: the staff audit log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.admin.models import LogEntry
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from tickets.models import Event

PAGE_SIZE = 100
ADMIN_FLAGS = {1: "admin_added", 2: "admin_changed", 3: "admin_deleted"}


@dataclass(frozen=True)
class AuditFilters:
    user: str = ""
    verb: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    before: dt.datetime | None = None

    @classmethod
    def from_query(cls, query: Any) -> AuditFilters:
        before = parse_datetime(query.get("before", "") or "")
        if before is not None and timezone.is_naive(before):
            before = timezone.make_aware(before, dt.UTC)
        return cls(
            user=(query.get("user", "") or "").strip()[:150],
            verb=(query.get("verb", "") or "").strip()[:50],
            date_from=parse_date(query.get("date_from", "") or "") if _is_date(query.get("date_from")) else None,
            date_to=parse_date(query.get("date_to", "") or "") if _is_date(query.get("date_to")) else None,
            before=before,
        )


def _is_date(value: Any) -> bool:
    try:
        return bool(value) and parse_date(value) is not None
    except ValueError:
        return False


@dataclass(frozen=True)
class AuditEntry:
    at: dt.datetime
    username: str
    verb: str
    target: str
    detail: str
    source: str  # "event" or "admin"
    ticket_number: int | None = None


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audit_verbs() -> list[str]:
    return sorted(
        {
            *Event.objects.filter(actor_user__isnull=False).values_list("verb", flat=True).distinct()[:200],
            *ADMIN_FLAGS.values(),
        }
    )


def _event_detail(event: Event) -> str:
    if event.field:
        return f"{event.field}: {event.old_value!r} → {event.new_value!r}"
    if event.data:
        return ", ".join(f"{k}={v}" for k, v in list(event.data.items())[:6])
    return ""


def audit_entry_list(*, filters: AuditFilters, limit: int = PAGE_SIZE) -> tuple[list[AuditEntry], dt.datetime | None]:
    """Staff actions newest first: audit events made by a person (agent, API or admin) and the
    Django admin's own change log. Returns the page and the `before` value of the next page."""
    events = Event.objects.filter(actor_user__isnull=False).select_related("actor_user", "ticket")
    entries = LogEntry.objects.select_related("user", "content_type")
    if filters.user:
        events = events.filter(actor_user__username__iexact=filters.user)
        entries = entries.filter(user__username__iexact=filters.user)
    if filters.verb:
        events = events.filter(verb=filters.verb)
        flag = {v: k for k, v in ADMIN_FLAGS.items()}.get(filters.verb)
        entries = entries.filter(action_flag=flag) if flag else entries.none()
    if filters.date_from:
        events = events.filter(created_at__gte=_day_start(filters.date_from))
        entries = entries.filter(action_time__gte=_day_start(filters.date_from))
    if filters.date_to:
        end = _day_start(filters.date_to + dt.timedelta(days=1))
        events = events.filter(created_at__lt=end)
        entries = entries.filter(action_time__lt=end)
    if filters.before:
        events = events.filter(created_at__lt=filters.before)
        entries = entries.filter(action_time__lt=filters.before)
    rows: list[AuditEntry] = []
    for event in events.order_by("-created_at", "-id")[: limit + 1]:
        rows.append(
            AuditEntry(
                at=event.created_at,
                username=event.actor_user.get_username() if event.actor_user else "",
                verb=event.verb,
                target=f"{event.object_type} {event.object_id}",
                detail=_event_detail(event)[:300],
                source="event",
                ticket_number=event.ticket.number if event.ticket_id else None,
            )
        )
    for entry in entries.order_by("-action_time", "-id")[: limit + 1]:
        rows.append(
            AuditEntry(
                at=entry.action_time,
                username=entry.user.get_username() if entry.user_id else "",
                verb=ADMIN_FLAGS.get(entry.action_flag, "admin"),
                target=f"{entry.content_type.model if entry.content_type_id else ''} {entry.object_repr}".strip(),
                detail=entry.get_change_message()[:300],
                source="admin",
            )
        )
    rows.sort(key=lambda r: r.at, reverse=True)
    older = rows[limit - 1].at if len(rows) > limit else None
    return rows[:limit], older
