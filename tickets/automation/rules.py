"""The rule language shared by triggers and automations: what a condition and an action may
say, how they are checked before they are saved, and how conditions are evaluated.

Conditions: ``{"all": [...], "any": [...]}``; the rule matches when every ``all`` condition
holds and, if ``any`` is not empty, at least one ``any`` condition holds. One condition is
``{"field": "status", "operator": "is", "value": "pending"}``.

Actions: a list, run in order, e.g. ``{"action": "set_status", "value": "solved"}``,
``{"action": "add_tags", "value": ["vip"]}``, ``{"action": "notify", "to": "assignee",
"text": "..."}``, ``{"action": "send_message", "text": "Hello {{ customer.first_name }}"}``,
``{"action": "webhook", "target": 3}``.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.template import Context, Engine, TemplateSyntaxError
from django.utils.translation import gettext as _

from tickets.models import Channel, Organization, Team, Ticket, TicketPriority, TicketStatus, TicketType, Tier

TRIGGER = "trigger"
AUTOMATION = "automation"

# What happened to the ticket, for the `event` condition of triggers.
EVENT_KINDS = ("ticket_created", "ticket_updated", "customer_reply", "agent_reply")

HOURS_FIELDS = {
    "hours_since_created": "created_at",
    "hours_since_updated": "updated_at",
    "hours_since_status_changed": "status_since",
    "hours_since_solved": "solved_at",
    "hours_since_customer_message": "last_customer_message_at",
    "hours_since_agent_message": "last_agent_message_at",
}

_CHOICE_OPS = ("is", "is_not", "in", "not_in")
_CHANGE_OPS = ("changed", "not_changed", "changed_to", "changed_from")
_TEXT_OPS = ("contains", "not_contains")


def _languages() -> list[str]:
    return [code for code, _label in settings.LANGUAGES]


# field -> (kind of value, operators, where it may be used)
FIELDS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "status": ("choice", _CHOICE_OPS + _CHANGE_OPS, (TRIGGER, AUTOMATION)),
    "priority": ("choice", _CHOICE_OPS + _CHANGE_OPS, (TRIGGER, AUTOMATION)),
    "type": ("choice", _CHOICE_OPS, (TRIGGER, AUTOMATION)),
    "channel": ("choice", _CHOICE_OPS, (TRIGGER, AUTOMATION)),
    "customer_tier": ("choice", _CHOICE_OPS, (TRIGGER, AUTOMATION)),
    "language": ("choice", _CHOICE_OPS, (TRIGGER, AUTOMATION)),
    "team": ("team", ("is", "is_not", "changed", "not_changed"), (TRIGGER, AUTOMATION)),
    "assignee": ("agent", ("is", "is_not", "changed", "not_changed"), (TRIGGER, AUTOMATION)),
    "organization": ("organization", ("is", "is_not"), (TRIGGER, AUTOMATION)),
    "tags": ("tags", ("contains", "not_contains", "changed"), (TRIGGER, AUTOMATION)),
    "subject": ("text", _TEXT_OPS, (TRIGGER, AUTOMATION)),
    "body": ("text", _TEXT_OPS, (TRIGGER, AUTOMATION)),
    "event": ("choice", ("is", "is_not", "in", "not_in"), (TRIGGER,)),
    **{name: ("hours", ("at_least", "less_than"), (AUTOMATION,)) for name in HOURS_FIELDS},
}


def field_choices(name: str) -> list[str]:
    return {
        "status": list(TicketStatus.values),
        "priority": list(TicketPriority.values),
        "type": list(TicketType.values),
        "channel": list(Channel.values),
        "customer_tier": list(Tier.values),
        "language": _languages(),
        "event": list(EVENT_KINDS),
    }[name]


UNASSIGNED = "unassigned"
NOTIFY_TARGETS = ("assignee", "team_lead", "user")
ACTIONS = (
    "set_status",
    "set_priority",
    "set_team",
    "set_assignee",
    "add_tags",
    "remove_tags",
    "notify",
    "send_message",
    "webhook",
)


# --- Validation ------------------------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.messages.append(f"{where}: {message}")


def _agent_exists(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return get_user_model().objects.filter(pk=value, is_active=True, agent_profile__isnull=False).exists()


def _id_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _tag_names(value: Any) -> list[str] | None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        return None
    return [v.strip().lower() for v in value]


def _check_condition(cond: Any, where: str, kind: str, errors: _Errors) -> None:
    if not isinstance(cond, dict):
        errors.add(where, _('a condition is an object such as {"field": "status", "operator": "is", "value": "open"}.'))
        return
    unknown_keys = set(cond) - {"field", "operator", "value"}
    if unknown_keys:
        errors.add(where, _("unknown keys %(keys)s.") % {"keys": ", ".join(sorted(unknown_keys))})
    name = cond.get("field")
    usable = sorted(f for f, spec in FIELDS.items() if kind in spec[2])
    if name not in FIELDS or kind not in FIELDS[name][2]:
        errors.add(
            where,
            _("unknown field %(field)r for a %(kind)s. Known fields: %(known)s.")
            % {"field": name, "kind": kind, "known": ", ".join(usable)},
        )
        return
    value_kind, operators, _where = FIELDS[name]
    op = cond.get("operator")
    if op not in operators:
        errors.add(
            where,
            _("unknown operator %(op)r for field %(field)s; use one of: %(ops)s.")
            % {"op": op, "field": name, "ops": ", ".join(operators)},
        )
        return
    if op in _CHANGE_OPS and kind != TRIGGER:
        errors.add(where, _("%(op)s only makes sense in a trigger.") % {"op": op})
        return
    value = cond.get("value")
    if op in ("changed", "not_changed"):
        return
    bad = None
    if value_kind == "choice":
        choices = field_choices(name)
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value or any(v not in choices for v in value):
                bad = _("%(op)s needs a list of values from: %(choices)s.")
        elif value not in choices:
            bad = _("the value must be one of: %(choices)s.")
        if bad:
            errors.add(where, bad % {"op": op, "choices": ", ".join(choices)})
        return
    if value_kind == "team":
        if not _id_or_none(value) or (value is not None and not Team.objects.filter(pk=value).exists()):
            errors.add(where, _("the value must be the id of a team, or null for no team; got %(v)r.") % {"v": value})
    elif value_kind == "organization":
        if not _id_or_none(value) or (value is not None and not Organization.objects.filter(pk=value).exists()):
            errors.add(
                where,
                _("the value must be the id of an organization, or null for none; got %(v)r.") % {"v": value},
            )
    elif value_kind == "agent":
        if value != UNASSIGNED and not _agent_exists(value):
            errors.add(
                where, _('the value must be the user id of an active agent, or "unassigned"; got %(v)r.') % {"v": value}
            )
    elif value_kind == "tags":
        if _tag_names(value) is None:
            errors.add(where, _("the value must be a tag name or a list of tag names."))
    elif value_kind == "text":
        if not isinstance(value, str) or not value.strip():
            errors.add(where, _("the value must be some text to look for."))
    elif value_kind == "hours":
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            errors.add(where, _("the value must be a number of hours, 0 or more; got %(v)r.") % {"v": value})


def conditions_validate(conditions: Any, *, kind: str) -> dict[str, list]:
    """The conditions, normalised, or a ValidationError listing every mistake by position."""
    errors = _Errors()
    if conditions in (None, ""):
        conditions = {}
    if isinstance(conditions, list):
        conditions = {"all": conditions}
    if not isinstance(conditions, dict):
        raise ValidationError(_('Conditions must be an object: {"all": [...], "any": [...]}.'))
    unknown = set(conditions) - {"all", "any"}
    if unknown:
        errors.add(
            "conditions", _('only "all" and "any" are allowed, not %(keys)s.') % {"keys": ", ".join(sorted(unknown))}
        )
    normalised: dict[str, list] = {"all": [], "any": []}
    for group in ("all", "any"):
        items = conditions.get(group) or []
        if not isinstance(items, list):
            errors.add(group, _("must be a list of conditions."))
            continue
        for i, cond in enumerate(items):
            _check_condition(cond, f"{group}[{i}]", kind, errors)
            if isinstance(cond, dict):
                normalised[group].append(dict(cond))
    if kind == AUTOMATION and not errors.messages:
        if not any(c.get("field") in HOURS_FIELDS for c in normalised["all"]):
            errors.add(
                "all",
                _(
                    'an automation needs at least one hours_since_... condition under "all" (for example '
                    "hours_since_status_changed at_least 72); without one it would be a trigger."
                ),
            )
    if errors.messages:
        raise ValidationError(errors.messages)
    return normalised


_engine = None


class _PlaceholderEngine(Engine):
    # Variables and filters only: no {% include %}, {% load %} or other tags that could reach
    # templates, settings or code from a rule's text.
    default_builtins = ["django.template.defaultfilters"]


def template_engine() -> Engine:
    global _engine
    if _engine is None:
        _engine = _PlaceholderEngine(autoescape=True, loaders=[], libraries={})
    return _engine


def _check_template(text: Any, where: str, errors: _Errors) -> None:
    if not isinstance(text, str) or not text.strip():
        errors.add(where, _("needs some text."))
        return
    try:
        template_engine().from_string(text)
    except TemplateSyntaxError as exc:
        errors.add(where, _("the text has a mistake in a placeholder: %(error)s") % {"error": exc})


def _check_action(item: Any, where: str, errors: _Errors) -> None:
    if not isinstance(item, dict) or item.get("action") not in ACTIONS:
        name = item.get("action") if isinstance(item, dict) else item
        errors.add(where, _("unknown action %(a)r; use one of: %(all)s.") % {"a": name, "all": ", ".join(ACTIONS)})
        return
    name, value = item["action"], item.get("value")
    if name == "set_status":
        allowed = [s for s in TicketStatus.values if s != TicketStatus.NEW]
        if value not in allowed:
            errors.add(where, _("the status must be one of: %(choices)s.") % {"choices": ", ".join(allowed)})
    elif name == "set_priority":
        if value not in TicketPriority.values:
            errors.add(
                where, _("the priority must be one of: %(choices)s.") % {"choices": ", ".join(TicketPriority.values)}
            )
    elif name == "set_team":
        if not _id_or_none(value) or (value is not None and not Team.objects.filter(pk=value).exists()):
            errors.add(where, _("the value must be the id of a team, or null for no team; got %(v)r.") % {"v": value})
    elif name == "set_assignee":
        if value not in (None, UNASSIGNED) and not _agent_exists(value):
            errors.add(
                where,
                _("the value must be the user id of an active agent, or null to unassign; got %(v)r.") % {"v": value},
            )
    elif name in ("add_tags", "remove_tags"):
        if _tag_names(value) is None:
            errors.add(where, _("the value must be a tag name or a list of tag names."))
    elif name == "notify":
        to = item.get("to")
        if to not in NOTIFY_TARGETS:
            errors.add(where, _('notify needs "to": one of %(choices)s.') % {"choices": ", ".join(NOTIFY_TARGETS)})
        elif to == "user" and not _agent_exists(item.get("user")):
            errors.add(where, _('notify to "user" needs "user": the user id of an active agent.'))
        _check_template(item.get("text"), where, errors)
    elif name == "send_message":
        _check_template(item.get("text"), where, errors)
    elif name == "webhook":
        from .models import WebhookTarget

        target = item.get("target")
        if not _id_or_none(target) or target is None or not WebhookTarget.objects.filter(pk=target).exists():
            errors.add(where, _('webhook needs "target": the id of a rule webhook target; got %(v)r.') % {"v": target})


def actions_validate(actions: Any) -> list[dict]:
    errors = _Errors()
    if not isinstance(actions, list) or not actions:
        raise ValidationError(_('Actions must be a non-empty list, e.g. [{"action": "set_status", "value": "open"}].'))
    for i, item in enumerate(actions):
        _check_action(item, f"actions[{i}]", errors)
    if errors.messages:
        raise ValidationError(errors.messages)
    return [dict(a) for a in actions]


# --- Evaluation ------------------------------------------------------------------------------------


@dataclass
class Happening:
    """What a trigger reacts to: the kinds of event in one batch and the fields it changed
    (field -> (first old value, last new value))."""

    kinds: set[str] = field(default_factory=set)
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    message_text: str | None = None


@dataclass
class Facts:
    """A ticket as the conditions see it."""

    status: str
    priority: str
    type: str
    channel: str
    customer_tier: str
    language: str
    team: int | None
    assignee: int | None
    organization: int | None
    tags: set[str]
    subject: str
    body: str
    times: dict[str, dt.datetime | None]


def _ref_id(value: Any) -> Any:
    """An id from an Event value ({"id": .., "label": ..} for objects)."""
    return value.get("id") if isinstance(value, dict) else value


def _norm_change(name: str, value: Any) -> Any:
    return _ref_id(value)


def _hours(since: dt.datetime | None, now: dt.datetime) -> float | None:
    return None if since is None else (now - since).total_seconds() / 3600


def _choice_holds(op: str, actual: Any, value: Any) -> bool:
    if op == "is":
        return actual == value
    if op == "is_not":
        return actual != value
    if op == "in":
        return actual in value
    if op == "not_in":
        return actual not in value
    return False


def condition_holds(
    cond: dict, facts: Facts, *, happening: Happening | None = None, now: dt.datetime | None = None
) -> bool:
    name, op, value = cond["field"], cond["operator"], cond.get("value")
    if op in _CHANGE_OPS:
        change = (happening.changes if happening else {}).get(name)
        if op == "changed":
            return change is not None
        if op == "not_changed":
            return change is None
        if change is None:
            return False
        old, new = (_norm_change(name, v) for v in change)
        return new == value if op == "changed_to" else old == value
    if name == "event":
        kinds = happening.kinds if happening else set()
        if op == "is":
            return value in kinds
        if op == "is_not":
            return value not in kinds
        if op == "in":
            return bool(kinds & set(value))
        return not kinds & set(value)
    if name in HOURS_FIELDS:
        hours = _hours(facts.times.get(HOURS_FIELDS[name]), now or dt.datetime.now(dt.UTC))
        if hours is None:
            return False
        return hours >= value if op == "at_least" else hours < value
    if name in ("team", "organization"):
        actual = getattr(facts, name)
        return (actual == value) if op == "is" else (actual != value)
    if name == "assignee":
        wanted = None if value == UNASSIGNED else value
        return (facts.assignee == wanted) if op == "is" else (facts.assignee != wanted)
    if name == "tags":
        names = set(_tag_names(value) or [])
        present = bool(facts.tags & names)
        return present if op == "contains" else not present
    if name in ("subject", "body"):
        text = (
            happening.message_text
            if name == "body" and happening and happening.message_text is not None
            else getattr(facts, name)
        )
        found = value.strip().lower() in (text or "").lower()
        return found if op == "contains" else not found
    return _choice_holds(op, getattr(facts, name), value)


def conditions_hold(
    conditions: dict, facts: Facts, *, happening: Happening | None = None, now: dt.datetime | None = None
) -> bool:
    every = conditions.get("all") or []
    some = conditions.get("any") or []
    if not all(condition_holds(c, facts, happening=happening, now=now) for c in every):
        return False
    return not some or any(condition_holds(c, facts, happening=happening, now=now) for c in some)


def facts_for(ticket: Ticket, *, status_since: dt.datetime | None = None) -> Facts:
    """The facts of a ticket (one query for tags, one for the latest public message)."""
    from tickets.sla.selectors import ticket_effective_tier

    latest = (
        ticket.messages.filter(is_internal=False)
        .order_by("-created_at", "-id")
        .values_list("body_text", flat=True)
        .first()
    )
    return Facts(
        status=ticket.status,
        priority=ticket.priority,
        type=ticket.type,
        channel=ticket.channel,
        customer_tier=ticket_effective_tier(ticket),
        language=ticket.language,
        team=ticket.team_id,
        assignee=ticket.assignee_id,
        organization=ticket.organization_id,
        tags=set(ticket.tags.values_list("name", flat=True)),
        subject=ticket.subject,
        body=latest or "",
        times={
            "created_at": ticket.created_at,
            "updated_at": ticket.updated_at,
            "status_since": status_since,
            "solved_at": ticket.solved_at,
            "last_customer_message_at": ticket.last_customer_message_at,
            "last_agent_message_at": ticket.last_agent_message_at,
        },
    )


# --- Message text ----------------------------------------------------------------------------------


def _person(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def text_render(text: str, *, ticket: Ticket) -> str:
    """A rule's text with {{ ticket.number }}, {{ ticket.subject }}, {{ ticket.status }},
    {{ ticket.priority }}, {{ ticket.url }}, {{ customer.name }}, {{ customer.first_name }},
    {{ assignee.name }} and {{ team.name }} filled in, as plain text.

    The context holds strings only (no model objects, so no methods or relations can be
    reached); it is rendered with autoescaping, undone exactly once afterwards."""
    customer = str(ticket.requester)
    context = Context(
        {
            "ticket": {
                "number": ticket.number,
                "subject": ticket.subject,
                "status": str(TicketStatus(ticket.status).label),
                "priority": str(TicketPriority(ticket.priority).label),
                "url": f"{settings.SITE_URL}/agent/tickets/{ticket.number}/",
            },
            "customer": {"name": customer, "first_name": customer.split(" ")[0]},
            "assignee": {"name": _person(ticket.assignee)},
            "team": {"name": ticket.team.name if ticket.team_id else ""},
        },
        autoescape=True,
    )
    try:
        rendered = template_engine().from_string(text).render(context)
    except TemplateSyntaxError as exc:
        raise ValidationError(_("The rule's text has a mistake: %(error)s") % {"error": exc}) from exc
    return html.unescape(rendered).strip()


def tag_names(value: Any) -> list[str]:
    return _tag_names(value) or []


def describe(kind: str, rule_id: int, name: str) -> str:
    """How a rule signs its work: "Trigger 3: Escalate VIP tickets"."""
    label = _("Trigger") if kind == TRIGGER else _("Automation")
    return f"{label} {rule_id}: {name}"


def iter_conditions(conditions: dict) -> Iterable[dict]:
    yield from conditions.get("all") or []
    yield from conditions.get("any") or []
