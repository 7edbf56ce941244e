"""Directory writes: customer updates and
organization / team / tag create and update. Each checks input, saves, and records an Event,
like the other services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from ..models import Customer, Identity, Organization, Tag, Team
from .events import Actor, event_record, event_record_changes


def _apply_changes(*, obj: models.Model, changes: Mapping[str, Any], allowed: set[str], actor: Actor) -> models.Model:
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        diffs = []
        for field, new in changes.items():
            old = getattr(obj, field)
            if old != new:
                diffs.append((field, old, new))
                setattr(obj, field, new)
        if not diffs:
            return obj
        obj.full_clean(validate_unique=True)
        obj.save(update_fields=[field for field, _o, _n in diffs])
        event_record_changes(obj=obj, changes=diffs, actor=actor)
    return obj


CUSTOMER_UPDATABLE = {
    "name",
    "organization",
    "language",
    "time_zone",
    "preferred_channel",
    "tier",
    "consent_email",
    "consent_sms",
    "consent_whatsapp",
    "consent_marketing",
    "attributes",
    "notes",
}


def customer_update(*, customer: Customer, changes: Mapping[str, Any], actor: Actor) -> Customer:
    changes = dict(changes)
    if "attributes" in changes:  # merged, like ticket custom fields
        changes["attributes"] = {**customer.attributes, **dict(changes["attributes"])}
    _apply_changes(obj=customer, changes=changes, allowed=CUSTOMER_UPDATABLE, actor=actor)
    return customer


def identity_owner(*, kind: str, value: str) -> Customer | None:
    identity = Identity.objects.select_related("customer").filter(kind=kind, value=value).first()
    return identity.customer if identity else None


def _create(model: type[models.Model], *, fields: Mapping[str, Any], actor: Actor) -> Any:
    obj = model(**fields)
    obj.full_clean()
    try:
        with transaction.atomic():
            obj.save()
            event_record(obj=obj, verb="created", new={k: v for k, v in fields.items()}, actor=actor)
    except IntegrityError as exc:  # lost a race on a unique name
        raise ValidationError({"name": [f"{model._meta.verbose_name} with this name already exists."]}) from exc
    return obj


def organization_create(*, name: str, actor: Actor, tier: str = "", notes: str = "") -> Organization:
    fields: dict[str, Any] = {"name": name, "notes": notes}
    if tier:
        fields["tier"] = tier
    return _create(Organization, fields=fields, actor=actor)


def organization_update(*, organization: Organization, changes: Mapping[str, Any], actor: Actor) -> Organization:
    _apply_changes(obj=organization, changes=changes, allowed={"name", "tier", "notes"}, actor=actor)
    return organization


def team_create(*, name: str, actor: Actor, description: str = "", lead: Any = None) -> Team:
    return _create(Team, fields={"name": name, "description": description, "lead": lead}, actor=actor)


def team_update(*, team: Team, changes: Mapping[str, Any], actor: Actor) -> Team:
    _apply_changes(obj=team, changes=changes, allowed={"name", "description", "lead"}, actor=actor)
    return team


def tag_create(*, name: str, actor: Actor, color: str = "") -> Tag:
    fields: dict[str, Any] = {"name": name.strip().lower()}
    if color:
        fields["color"] = color
    return _create(Tag, fields=fields, actor=actor)


def tag_update(*, tag: Tag, changes: Mapping[str, Any], actor: Actor) -> Tag:
    changes = dict(changes)
    if "name" in changes:
        changes["name"] = str(changes["name"]).strip().lower()
    _apply_changes(obj=tag, changes=changes, allowed={"name", "color"}, actor=actor)
    return tag
