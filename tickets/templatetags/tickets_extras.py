"""Template helpers for the agent pages."""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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
    if event.verb in ("linked", "unlinked"):
        data = event.data or {}
        sentence = {
            ("linked", "related"): _("%(who)s linked #%(source)s and #%(target)s as related"),
            ("linked", "duplicate_of"): _("%(who)s marked #%(source)s as a duplicate of #%(target)s"),
            ("linked", "caused_by"): _("%(who)s recorded that #%(source)s was caused by #%(target)s"),
        }.get((event.verb, data.get("kind")), _("%(who)s removed the link between #%(source)s and #%(target)s"))
        return sentence % {"who": who, "source": data.get("source"), "target": data.get("target")}
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


_CID_SRC = re.compile(r'src="cid:([^"]+)"', re.IGNORECASE)


@register.filter
def inline_images(message, ticket_number: int) -> SafeString:
    """The message's sanitised HTML with `cid:` images pointing at their stored attachments
    (through the access-checked download view), so inline images show where they were put."""
    by_cid = {a.content_id.strip("<>"): a for a in message.attachments.all() if a.content_id and a.stored and a.file}

    def swap(match: re.Match) -> str:
        attachment = by_cid.get(match.group(1).strip("<>"))
        if attachment is None:
            return 'src=""'
        url = reverse("agent:attachment", args=[ticket_number, attachment.pk])
        return f'src="{url}"'

    # body_html was sanitised with nh3 when it was stored; only src attributes change here.
    return mark_safe(_CID_SRC.sub(swap, message.body_html))  # noqa: S308


_RELATIONS = {
    "related": gettext_lazy("Related to"),
    "duplicate_of": gettext_lazy("Duplicate of"),
    "has_duplicate": gettext_lazy("Has duplicate"),
    "caused_by": gettext_lazy("Caused by"),
    "causes": gettext_lazy("Causes"),
}


@register.filter
def link_relation(relation: str) -> str:
    """How a linked ticket relates to the one on the page."""
    return str(_RELATIONS.get(relation, relation))


@register.filter
def sla_due(ticket: Any) -> dict[str, Any] | None:
    """The ticket's soonest SLA deadline and whether it has passed, or None."""
    from django.utils import timezone

    from ..selectors import NO_DEADLINE, ticket_due_value

    due = ticket_due_value(ticket)
    if due == NO_DEADLINE:
        return None
    return {"at": due, "overdue": due <= timezone.now()}
