"""Template helpers for the agent pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from ..models import Event, TicketPriority, TicketStatus

register = template.Library()

_LABELS = {
    "status": dict(TicketStatus.choices),
    "priority": dict(TicketPriority.choices),
}


def _value(field: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return _("nothing")
    if isinstance(value, dict) and "label" in value:
        return str(value["label"])
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(_LABELS.get(field, {}).get(value, value))


def _actor(event: Event) -> str:
    if event.actor_user_id:
        user = event.actor_user
        return user.get_full_name() or user.get_username()
    if event.actor_customer_id:
        return str(event.actor_customer)
    return _("System") if event.actor_kind == "system" else _("API")


@register.filter
def event_sentence(event: Event) -> str:
    """One line a person can read: "Maria changed priority from Normal to Urgent"."""
    who = _actor(event)
    field = event.field.replace("_", " ")
    if event.verb == "created" and event.object_type == "ticket":
        return _("%(who)s opened the ticket") % {"who": who}
    if event.verb == "reopened":
        return _("%(who)s reopened the ticket") % {"who": who}
    if event.verb == "assigned":
        return _("%(who)s assigned the ticket to %(new)s") % {"who": who, "new": _value("assignee", event.new_value)}
    if event.verb == "merged":
        return _("%(who)s merged this ticket into #%(into)s") % {"who": who, "into": event.data.get("into")}
    if event.verb == "merged_in":
        return _("%(who)s merged ticket #%(source)s into this one") % {"who": who, "source": event.data.get("from")}
    if event.verb == "follower_added":
        return _("%(new)s now follows the ticket") % {"new": _value("", event.new_value)}
    if event.verb == "follow_up_created":
        return _("Follow-up ticket #%(number)s opened") % {"number": event.data.get("follow_up")}
    if event.verb == "delivery_failed":
        return _("Delivery failed: %(reason)s") % {"reason": event.data.get("reason", "")}
    if event.verb == "changed" and event.field:
        return _("%(who)s changed %(field)s from %(old)s to %(new)s") % {
            "who": who,
            "field": field,
            "old": _value(event.field, event.old_value),
            "new": _value(event.field, event.new_value),
        }
    return _("%(who)s: %(verb)s") % {"who": who, "verb": event.verb.replace("_", " ")}
