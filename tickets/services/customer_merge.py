"""Merging two customers who turn out to be one person (the same buyer writing from a work
address and from WhatsApp, say).

Everything that points at the merged customer moves to the one kept: identities, tickets,
message authorship, ticket followers, surveys and any other row of any app that refers to a
customer. Relations are found through the model's meta data, so a new app that refers to
customers is carried along without a change here. The merged customer is then deleted.

A merge is undoable for HELPDESK_MERGE_UNDO_DAYS: a `CustomerMergeRecord` keeps the merged
customer's fields and the ids of every row moved, and `customer_merge_undo` recreates the
customer (with its old id) and moves exactly those rows back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Customer, CustomerMergeRecord, Identity, Ticket
from .events import Actor, event_record


def _check_can_merge(actor: Actor) -> None:
    user = actor.user
    if actor.kind in ("agent", "api") and user is not None and not user.has_perm("tickets.change_customer"):
        raise PermissionDenied(_("Your role cannot merge customers."))


def _move_foreign_keys(source: Customer, target: Customer, rows: dict[str, Any]) -> dict[str, int]:
    """Point every foreign key and one-to-one (other than the portal login) at `target`;
    the ids of the rows moved go into `rows` under "<app.model>.<field>"."""
    moved: dict[str, int] = {}
    for relation in _relations():
        if relation.many_to_many or relation.related_model._meta.auto_created:
            continue  # many-to-many tables: _move_many_to_many
        model, name = relation.related_model, relation.field.name
        ids: list[Any] = []
        while True:  # rows written for `source` while we work are caught by the next pass
            batch = list(model._base_manager.filter(**{name: source}).values_list("pk", flat=True))
            if not batch:
                break
            model._base_manager.filter(pk__in=batch).update(**{name: target})
            ids.extend(batch)
        if ids:
            key = f"{model._meta.label_lower}.{name}"
            moved[key] = len(ids)
            rows[key] = ids
    return moved


def _relations() -> list[Any]:
    """Every relation pointing at Customer, hidden ones (related_name="+") included."""
    return [
        f
        for f in Customer._meta.get_fields(include_hidden=True)
        if f.auto_created
        and not f.concrete
        and (f.one_to_many or f.one_to_one or f.many_to_many)
        and f.related_model is not CustomerMergeRecord  # a merge's own record stays with its customer
    ]


def _move_many_to_many(source: Customer, target: Customer, rows: dict[str, Any]) -> dict[str, int]:
    """Rows of many-to-many tables that name `source` (ticket followers, ...): moved to
    `target` unless the same row already names `target`, in which case they are dropped.
    `rows` gets, per table, the ids of the rows moved and the owners of the rows dropped."""
    moved: dict[str, int] = {}
    for relation in [r for r in _relations() if r.many_to_many]:
        field: models.ManyToManyField = relation.field  # type: ignore[assignment]
        through = field.remote_field.through
        owner_column = field.m2m_field_name()  # e.g. "ticket"
        customer_column = field.m2m_reverse_field_name()  # e.g. "customer"
        of_source = through._base_manager.filter(**{customer_column: source})
        already = set(
            through._base_manager.filter(**{customer_column: target}).values_list(f"{owner_column}_id", flat=True)
        )
        dropped = list(
            of_source.filter(**{f"{owner_column}_id__in": already}).values_list(f"{owner_column}_id", flat=True)
        )
        of_source.filter(**{f"{owner_column}_id__in": already}).delete()
        ids = list(of_source.values_list("pk", flat=True))
        count = through._base_manager.filter(pk__in=ids).update(**{customer_column: target})
        if count:
            moved[f"{through._meta.label_lower}"] = count
        if ids or dropped:
            rows[f"m2m:{through._meta.label_lower}"] = {"moved": ids, "dropped_owners": dropped}
    return moved


def _fields_of(customer: Customer) -> dict[str, Any]:
    """The customer's concrete fields as JSON-safe values (restored by _restore_fields)."""
    values: dict[str, Any] = {}
    for field in Customer._meta.concrete_fields:
        if field.primary_key:
            continue
        value = field.value_from_object(customer)
        if value is None or isinstance(value, dict | list | bool | int | str):
            values[field.attname] = value
        else:
            values[field.attname] = field.value_to_string(customer)  # dates and times as ISO text
    return values


def _restore_fields(values: dict[str, Any]) -> dict[str, Any]:
    restored = {}
    for field in Customer._meta.concrete_fields:
        if field.primary_key or field.attname not in values:
            continue
        raw = values[field.attname]
        restored[field.attname] = None if raw is None else field.to_python(raw)
    return restored


def merge_undo_days() -> int:
    return int(getattr(settings, "HELPDESK_MERGE_UNDO_DAYS", 30))


def customer_merge_undoable(*, customer: Customer, now: dt.datetime | None = None) -> list[CustomerMergeRecord]:
    """The merges into `customer` that can still be undone, newest first."""
    since = (now or timezone.now()) - dt.timedelta(days=merge_undo_days())
    return list(customer.merge_records.filter(undone_at__isnull=True, created_at__gte=since))


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
        source_fields = _fields_of(source)
        target_before = {"organization_id": target.organization_id, "name": target.name}
        target_before["attributes"] = target.attributes
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
        rows: dict[str, Any] = {}
        summary["moved"] = {**_move_foreign_keys(source, target, rows), **_move_many_to_many(source, target, rows)}
        if login is not None:
            summary["portal_login"] = login.get_username()
        record = CustomerMergeRecord.objects.create(
            target=target,
            source_id=source.pk,
            source_fields=source_fields,
            target_before={**target_before, "changed": changed_fields},
            moved=rows,
            merged_by=actor.user,
        )
        summary["merge_record"] = record.pk
        event_record(obj=source, verb="customer_merged", data={**summary, "merged_into": target.pk}, actor=actor)
        event_record(obj=target, verb="customer_merged", data={**summary, "merged_from": source.pk}, actor=actor)
        Customer.objects.filter(pk=source.pk).delete()
    target.refresh_from_db()
    return target


class MergeUndoRefused(ValidationError):
    """The merge cannot be undone safely; the message says why."""


def _check_undo_safe(record: CustomerMergeRecord, target: Customer) -> None:
    if record.undone_at is not None:
        raise MergeUndoRefused(_("This merge was already undone."), code="already_undone")
    if record.created_at < timezone.now() - dt.timedelta(days=merge_undo_days()):
        raise MergeUndoRefused(
            _("Merges can be undone for %(days)s days; this one is older.") % {"days": merge_undo_days()},
            code="too_old",
        )
    if Customer.objects.filter(pk=record.source_id).exists():
        raise MergeUndoRefused(_("A customer with the merged customer's id exists again."), code="source_exists")
    # Identities and tickets are what a customer is: every one moved must still be with the kept customer.
    strict = (
        ("tickets.identity.customer", Identity, "customer_id", _("identities")),
        ("tickets.ticket.requester", Ticket, "requester_id", _("tickets")),
    )
    for key, model, column, label in strict:
        ids = record.moved.get(key, [])
        still = model._base_manager.filter(pk__in=ids, **{column: target.pk}).count()
        if still != len(ids):
            raise MergeUndoRefused(
                _(
                    "%(count)s of the %(label)s moved by this merge were deleted or moved to another customer "
                    "since; undoing it would lose them. Move them back by hand instead."
                )
                % {"count": len(ids) - still, "label": label},
                code="rows_changed",
            )


def customer_merge_undo(*, record: CustomerMergeRecord, actor: Actor) -> Customer:
    """Undo a merge: recreate the merged customer (same id and fields) and move back every
    row the merge moved that still points at the kept customer. Refused when already undone,
    too old, or when identities or tickets moved by the merge have since been deleted or
    moved elsewhere. Records `customer_merge_undone` on both customers; returns the
    recreated customer."""
    _check_can_merge(actor)
    with transaction.atomic():
        record = CustomerMergeRecord.objects.select_for_update().get(pk=record.pk)
        target = Customer.objects.select_for_update().get(pk=record.target_id)
        _check_undo_safe(record, target)
        fields = _restore_fields(record.source_fields)
        login_id = fields.pop("user_id", None)
        before = record.target_before or {}
        changed_back = []
        for name in before.get("changed", []):
            if name == "user":
                if login_id is not None and target.user_id == login_id:
                    target.user_id = None
                    changed_back.append("user")
                else:
                    login_id = None  # the login has moved on since: the kept customer keeps it
            elif name == "organization" and target.organization_id == fields.get("organization_id"):
                target.organization_id = before.get("organization_id")
                changed_back.append("organization")
            elif name == "name" and target.name == fields.get("name"):
                target.name = before.get("name", "")
                changed_back.append("name")
            elif name == "attributes":
                target.attributes = before.get("attributes", {})
                changed_back.append("attributes")
        if changed_back:
            target.save(update_fields=changed_back)
        source = Customer(pk=record.source_id, user_id=login_id, **fields)
        source.save(force_insert=True)
        moved_back: dict[str, int] = {}
        for key, ids in record.moved.items():
            if key.startswith("m2m:"):
                moved_back[key] = _m2m_back(key[4:], ids, source, target)
                continue
            label, name = key.rsplit(".", 1)
            model = _model(label)
            if model is None:
                continue
            moved_back[key] = model._base_manager.filter(pk__in=ids, **{name: target}).update(**{name: source})
        data = {
            "merge_record": record.pk,
            "source": {"id": source.pk, "name": source.name},
            "target": {"id": target.pk, "name": target.name},
            "moved_back": {k: v for k, v in moved_back.items() if v},
        }
        event_record(obj=source, verb="customer_merge_undone", data={**data, "split_from": target.pk}, actor=actor)
        event_record(obj=target, verb="customer_merge_undone", data={**data, "split_into": source.pk}, actor=actor)
        record.undone_at = timezone.now()
        record.undone_by = actor.user
        record.save(update_fields=["undone_at", "undone_by"])
    return source


def _model(label: str) -> type[models.Model] | None:
    from django.apps import apps

    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def _m2m_back(label: str, rows: dict[str, list[Any]], source: Customer, target: Customer) -> int:
    """Followers and the like: the moved rows go back to `source`; rows the merge dropped
    (both customers were on the same ticket) are added again for `source`."""
    for relation in [r for r in _relations() if r.many_to_many]:
        field: models.ManyToManyField = relation.field  # type: ignore[assignment]
        through = field.remote_field.through
        if through._meta.label_lower != label:
            continue
        owner_column, customer_column = field.m2m_field_name(), field.m2m_reverse_field_name()
        count = through._base_manager.filter(pk__in=rows.get("moved", []), **{customer_column: target}).update(
            **{customer_column: source}
        )
        owners = set(rows.get("dropped_owners", []))
        owners -= set(
            through._base_manager.filter(**{customer_column: source}).values_list(f"{owner_column}_id", flat=True)
        )
        existing = set(field.model._base_manager.filter(pk__in=owners).values_list("pk", flat=True))
        through._base_manager.bulk_create(
            [through(**{f"{owner_column}_id": owner, customer_column: source}) for owner in sorted(existing)]
        )
        return count + len(existing)
    return 0
