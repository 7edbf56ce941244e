"""Merging two customers who turn out to be one person (the same buyer writing from a work
address and from WhatsApp, say).

Everything that points at the merged customer moves to the one kept: identities, tickets,
message authorship, ticket followers, surveys and any other row of any app that refers to a
customer. Relations are found through the model's meta data, so a new app that refers to
customers is carried along without a change here. The merged customer is then deleted.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from ..models import Customer, Ticket
from .events import Actor, event_record


def _check_can_merge(actor: Actor) -> None:
    user = actor.user
    if actor.kind in ("agent", "api") and user is not None and not user.has_perm("tickets.change_customer"):
        raise PermissionDenied(_("Your role cannot merge customers."))


def _move_foreign_keys(source: Customer, target: Customer) -> dict[str, int]:
    """Point every foreign key and one-to-one (other than the portal login) at `target`."""
    moved: dict[str, int] = {}
    for relation in _relations():
        if relation.many_to_many or relation.related_model._meta.auto_created:
            continue  # many-to-many tables: _move_many_to_many
        model, name = relation.related_model, relation.field.name
        count = model._base_manager.filter(**{name: source}).update(**{name: target})
        if count:
            moved[f"{model._meta.label_lower}.{name}"] = count
    return moved


def _relations() -> list[Any]:
    """Every relation pointing at Customer, hidden ones (related_name="+") included."""
    return [
        f
        for f in Customer._meta.get_fields(include_hidden=True)
        if f.auto_created and not f.concrete and (f.one_to_many or f.one_to_one or f.many_to_many)
    ]


def _move_many_to_many(source: Customer, target: Customer) -> dict[str, int]:
    """Rows of many-to-many tables that name `source` (ticket followers, ...): moved to
    `target` unless the same row already names `target`, in which case they are dropped."""
    moved: dict[str, int] = {}
    for relation in [r for r in _relations() if r.many_to_many]:
        field: models.ManyToManyField = relation.field  # type: ignore[assignment]
        through = field.remote_field.through
        owner_column = field.m2m_field_name()  # e.g. "ticket"
        customer_column = field.m2m_reverse_field_name()  # e.g. "customer"
        rows = through._base_manager.filter(**{customer_column: source})
        already = set(
            through._base_manager.filter(**{customer_column: target}).values_list(f"{owner_column}_id", flat=True)
        )
        rows.filter(**{f"{owner_column}_id__in": already}).delete()
        count = rows.update(**{customer_column: target})
        if count:
            moved[f"{through._meta.label_lower}"] = count
    return moved


def customer_merge(*, source: Customer, target: Customer, actor: Actor) -> Customer:
    """Merge `source` into `target` and delete `source`. Refused when both are the same
    customer, or when both have their own portal login (a person cannot have two; remove
    one login first). Records a `customer_merged` event on both customers."""
    _check_can_merge(actor)
    if source.pk == target.pk:
        raise ValidationError(_("A customer cannot be merged into itself."), code="merge_into_itself")
    with transaction.atomic():
        locked = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[source.pk, target.pk])}
        if len(locked) != 2:
            raise ValidationError(_("One of the customers no longer exists."), code="not_found")
        source, target = locked[source.pk], locked[target.pk]
        if source.user_id and target.user_id:
            raise ValidationError(
                _(
                    "Both customers have their own portal login (%(a)s and %(b)s). A customer can have only one: "
                    "remove one of the logins before merging."
                )
                % {"a": source.user.get_username(), "b": target.user.get_username()},
                code="portal_user_conflict",
            )
        summary: dict[str, Any] = {
            "source": {"id": source.pk, "name": source.name},
            "target": {"id": target.pk, "name": target.name},
            "identities": list(source.identities.values("kind", "value")),
            "tickets": list(
                Ticket.objects.filter(requester=source).order_by("number").values_list("number", flat=True)
            ),
        }
        # Tickets keep the organization they had; an empty organization takes the source's.
        changed_fields = []
        if target.organization_id is None and source.organization_id is not None:
            target.organization_id = source.organization_id
            changed_fields.append("organization")
        if not target.name and source.name:
            target.name = source.name
            changed_fields.append("name")
        if source.attributes:
            target.attributes = {**source.attributes, **target.attributes}
            changed_fields.append("attributes")
        login = source.user
        if login is not None:
            source.user = None
            source.save(update_fields=["user"])
            target.user = login
            changed_fields.append("user")
        if changed_fields:
            target.save(update_fields=changed_fields)
        summary["moved"] = {**_move_foreign_keys(source, target), **_move_many_to_many(source, target)}
        if login is not None:
            summary["portal_login"] = login.get_username()
        event_record(obj=source, verb="customer_merged", data={**summary, "merged_into": target.pk}, actor=actor)
        event_record(obj=target, verb="customer_merged", data={**summary, "merged_from": source.pk}, actor=actor)
        Customer.objects.filter(pk=source.pk).delete()
    target.refresh_from_db()
    return target
