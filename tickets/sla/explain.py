"""Plain sentences that explain each SLA deadline of a ticket, from its SLA ledger.

    First response due 14:30 Wed 12 Mar (business hours 'EU support', Europe/Berlin):
        4 business hours from 10:30, policy 'Premium'
    Resolution paused 2h10m while pending (business time); resumed 16:10 Wed 12 Mar, now due ...

Each ledger row carries what its sentence needs (policy and calendar names, the target, the
time zone) as they were at the time, so the explanation does not change when a policy is
renamed later. Times are shown in the calendar's time zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from ..models import Ticket, TicketStatus
from ..models_sla import SlaLedgerEntry, SlaLedgerKind, SlaMetric
from .selectors import sla_ledger_list


def _moment(value: dt.datetime | str | None, zone: ZoneInfo) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(zone)


def format_when(value: dt.datetime | str | None, zone: ZoneInfo) -> str:
    """14:30 Wed 12 Mar, in `zone`."""
    local = _moment(value, zone)
    if local is None:
        return "-"
    return f"{local:%H:%M} {local:%a} {local.day} {local:%b}"


def format_duration(seconds: float) -> str:
    """2h10m, 45m, 1d 3h00m."""
    minutes = round(seconds / 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h{minutes:02d}m"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m"


def format_target(minutes: int, business: bool) -> str:
    """4 business hours, 30 business minutes, 1h30m of business time; 2 days in calendar time."""
    if minutes % 60 == 0:
        hours = minutes // 60
        if not business and hours % 24 == 0:
            return ngettext("%(count)d day", "%(count)d days", hours // 24) % {"count": hours // 24}
        if business:
            return ngettext("%(count)d business hour", "%(count)d business hours", hours) % {"count": hours}
        return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    if minutes < 60:
        if business:
            return ngettext("%(count)d business minute", "%(count)d business minutes", minutes) % {"count": minutes}
        return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    text = format_duration(minutes * 60)
    return _("%(amount)s of business time") % {"amount": text} if business else text


def _status(value: str) -> str:
    try:
        return str(TicketStatus(value).label).lower()
    except ValueError:
        return value or _("paused")


_STOP_REASONS = {
    "solved": gettext_noop("the ticket was solved"),
    "closed": gettext_noop("the ticket was closed"),
    "no_policy": gettext_noop("no SLA policy applies any more"),
    "no_target": gettext_noop("the SLA policy has no target for it"),
}


_RECALCULATE_REASONS = {
    "policy_changed": gettext_noop("because the SLA policy was edited"),
    "calendar_changed": gettext_noop("because the business hours were edited"),
}


def _sentence(entry: SlaLedgerEntry, zone: ZoneInfo) -> str:
    d: dict[str, Any] = entry.details or {}
    metric = str(SlaMetric(entry.metric).label)
    due = format_when(entry.due_at, zone)
    at = format_when(entry.at, zone)
    kind = entry.kind
    if kind in (SlaLedgerKind.ACTIVATED, SlaLedgerKind.RECALCULATED):
        if d.get("business"):
            hours = _("business hours '%(calendar)s', %(zone)s") % {"calendar": d.get("calendar", ""), "zone": zone.key}
        else:
            hours = _("calendar time, %(zone)s") % {"zone": zone.key}
        start = _moment(d.get("from"), zone)
        due_local = _moment(entry.due_at, zone)
        same_day = start is not None and due_local is not None and start.date() == due_local.date()
        start_text = f"{start:%H:%M}" if same_day else format_when(start, zone)
        values = {
            "metric": metric,
            "due": due,
            "hours": hours,
            "target": format_target(d.get("target_minutes", 0), bool(d.get("business"))),
            "from": start_text,
            "policy": d.get("policy", ""),
            "used": format_duration(d.get("used_seconds", 0)),
        }
        if kind == SlaLedgerKind.ACTIVATED:
            return _("%(metric)s due %(due)s (%(hours)s): %(target)s from %(from)s, policy '%(policy)s'") % values
        text = (
            _(
                "%(metric)s recalculated, now due %(due)s (%(hours)s): %(target)s, %(used)s used before %(from)s, "
                "policy '%(policy)s'"
            )
            % values
        )
        reason = _RECALCULATE_REASONS.get(d.get("why", ""))
        return f"{text} ({_(reason)})" if reason else text
    if kind == SlaLedgerKind.PAUSED:
        return _("%(metric)s paused at %(at)s while %(status)s (was due %(due)s)") % {
            "metric": metric,
            "at": at,
            "status": _status(d.get("status", "")),
            "due": due,
        }
    if kind == SlaLedgerKind.RESUMED:
        text = _("%(metric)s paused %(duration)s while %(status)s") % {
            "metric": metric,
            "duration": format_duration(d.get("paused_seconds", 0)),
            "status": _status(d.get("status", "")),
        }
        if d.get("business"):
            text += " " + _("(business time)")
        return text + "; " + _("resumed %(at)s, now due %(due)s") % {"at": at, "due": due}
    if kind == SlaLedgerKind.WARNED:
        return _("%(metric)s due %(due)s: warned at %(at)s") % {"metric": metric, "due": due, "at": at}
    if kind == SlaLedgerKind.BREACHED:
        return _("%(metric)s breached: it was due %(due)s (detected %(at)s)") % {"metric": metric, "due": due, "at": at}
    if kind == SlaLedgerKind.FULFILLED:
        text = _("%(metric)s met at %(at)s: %(used)s used of %(target)s") % {
            "metric": metric,
            "at": at,
            "used": format_duration(d.get("used_seconds", 0)),
            "target": format_target(d.get("target_minutes", 0), bool(d.get("business"))),
        }
        return text + (" " + _("(late)") if d.get("late") else "")
    reason = _STOP_REASONS.get(d.get("why", ""), d.get("why", ""))
    return _("%(metric)s stopped at %(at)s: %(reason)s") % {"metric": metric, "at": at, "reason": _(reason)}


def sla_explain(ticket: Ticket) -> list[str]:
    """One sentence per SLA transition of the ticket, oldest first."""
    zones: dict[str, ZoneInfo] = {}
    default = ZoneInfo(timezone.get_default_timezone_name())
    sentences = []
    for entry in sla_ledger_list(ticket_id=ticket.pk):
        if entry.details.get("time_zone"):
            zones[entry.metric] = ZoneInfo(entry.details["time_zone"])
        sentences.append(_sentence(entry, zones.get(entry.metric, default)))
    return sentences
