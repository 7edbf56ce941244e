"""Creating, changing and deleting triggers and automations (validated, audited), the
shipped default automations, and agents' notifications."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.services.events import Actor, event_record

from ..models import Automation, Notification, Rule
from ..rules import AUTOMATION, TRIGGER, actions_validate, conditions_validate

RULE_FIELDS = ("name", "description", "is_active", "position", "conditions", "actions")


def rule_kind(model: type[Rule] | Rule) -> str:
    return AUTOMATION if (model is Automation or isinstance(model, Automation)) else TRIGGER


def rule_clean(*, kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values with conditions and actions checked and normalised; a ValidationError
    keyed by field lists every mistake."""
    cleaned = dict(values)
    errors: dict[str, list[str]] = {}
    if "name" in cleaned and not str(cleaned["name"] or "").strip():
        errors["name"] = [_("A rule needs a name.")]
    if "conditions" in cleaned:
        try:
            cleaned["conditions"] = conditions_validate(cleaned["conditions"], kind=kind)
        except ValidationError as exc:
            errors["conditions"] = exc.messages
    if "actions" in cleaned:
        try:
            cleaned["actions"] = actions_validate(cleaned["actions"])
        except ValidationError as exc:
            errors["actions"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return cleaned


def rule_create(*, model: type[Rule], actor: Actor, **values: Any) -> Rule:
    unknown = set(values) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s.") % {"f": ", ".join(sorted(unknown))})
    values.setdefault("conditions", {"all": [], "any": []})
    values.setdefault("actions", [])
    cleaned = rule_clean(kind=rule_kind(model), values=values)
    with transaction.atomic():
        rule = model.objects.create(created_by=actor.user, **cleaned)
        event_record(
            obj=rule, verb="created", new={f: cleaned.get(f) for f in RULE_FIELDS if f in cleaned}, actor=actor
        )
    return rule


def rule_update(*, rule: Rule, changes: Mapping[str, Any], actor: Actor) -> Rule:
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s.") % {"f": ", ".join(sorted(unknown))})
    cleaned = rule_clean(kind=rule_kind(rule), values=changes)
    with transaction.atomic():
        diffs = [(f, getattr(rule, f), v) for f, v in cleaned.items() if getattr(rule, f) != v]
        if not diffs:
            return rule
        for field, old, new in diffs:
            setattr(rule, field, new)
            event_record(obj=rule, verb="changed", field=field, old=old, new=new, actor=actor)
        rule.updated_at = timezone.now()
        rule.save()
    return rule


def rule_delete(*, rule: Rule, actor: Actor) -> None:
    with transaction.atomic():
        event_record(obj=rule, verb="deleted", old={"name": rule.name}, actor=actor)
        rule.delete()


# --- Defaults ----------------------------------------------------------------------------------------


def default_automations() -> list[dict[str, Any]]:
    return [
        {
            "name": _("Close solved tickets after 4 days"),
            "description": _("A solved ticket the customer has not answered for 4 days is closed."),
            "position": 10,
            "conditions": {
                "all": [
                    {"field": "status", "operator": "is", "value": "solved"},
                    {"field": "hours_since_solved", "operator": "at_least", "value": 96},
                ],
                "any": [],
            },
            "actions": [{"action": "set_status", "value": "closed"}],
        },
        {
            "name": _("Remind customer after 3 days pending"),
            "description": _("A ticket waiting for the customer for 3 days gets one reminder."),
            "position": 20,
            "conditions": {
                "all": [
                    {"field": "status", "operator": "is", "value": "pending"},
                    {"field": "hours_since_status_changed", "operator": "at_least", "value": 72},
                ],
                "any": [],
            },
            "actions": [
                {
                    "action": "send_message",
                    "text": _(
                        "Hello {{ customer.first_name }},\n\nwe are still waiting for your answer on ticket "
                        "#{{ ticket.number }} ({{ ticket.subject }}). Just reply to this message when you can; "
                        "if the problem is solved, you don't need to do anything."
                    ),
                }
            ],
        },
    ]


def automation_defaults_install(*, actor: Actor, activate: bool = False) -> list[tuple[Automation, bool]]:
    """Create the shipped automations that do not exist yet (by name); inactive unless
    `activate`. Returns (automation, created) for each."""
    found = []
    for spec in default_automations():
        existing = Automation.objects.filter(name=spec["name"]).first()
        if existing is not None:
            found.append((existing, False))
            continue
        found.append((rule_create(model=Automation, actor=actor, is_active=activate, **spec), True))
    return found


# --- Notifications -----------------------------------------------------------------------------------


def notifications_mark_read(*, user: AbstractBaseUser) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
