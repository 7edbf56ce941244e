"""The audit log: every change made through a service leaves an Event."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models

from ..models import ActorKind, Customer, Event, Ticket


@dataclass(frozen=True)
class Actor:
    """Who made a change: an agent (or API user), a customer, or the system itself."""

    kind: str
    user: AbstractBaseUser | None = None
    customer: Customer | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(kind=ActorKind.SYSTEM)

    @classmethod
    def agent(cls, user: AbstractBaseUser) -> Actor:
        return cls(kind=ActorKind.AGENT, user=user)

    @classmethod
    def api(cls, user: AbstractBaseUser) -> Actor:
        return cls(kind=ActorKind.API, user=user)

    @classmethod
    def of_customer(cls, customer: Customer) -> Actor:
        return cls(kind=ActorKind.CUSTOMER, customer=customer)


def jsonable(value: Any) -> Any:
    """A JSON-safe picture of a field value, readable in the audit log years later."""
    if isinstance(value, models.Model):
        return {"id": value.pk, "label": str(value)}
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, models.QuerySet):
        return [jsonable(v) for v in value]
    return value


def _object_type(obj: models.Model) -> str:
    return obj._meta.model_name or obj.__class__.__name__.lower()


def event_record(
    *,
    obj: models.Model,
    verb: str,
    actor: Actor,
    field: str = "",
    old: Any = None,
    new: Any = None,
    data: dict[str, Any] | None = None,
    ticket: Ticket | None = None,
) -> Event:
    if ticket is None and isinstance(obj, Ticket):
        ticket = obj
    return Event.objects.create(
        ticket=ticket,
        object_type=_object_type(obj),
        object_id=obj.pk,
        verb=verb,
        field=field,
        old_value=jsonable(old),
        new_value=jsonable(new),
        data=jsonable(data or {}),
        actor_kind=actor.kind,
        actor_user=actor.user,
        actor_customer=actor.customer,
    )


def event_record_changes(
    *,
    obj: models.Model,
    changes: Iterable[tuple[str, Any, Any]],
    actor: Actor,
    ticket: Ticket | None = None,
    verb: str = "changed",
) -> list[Event]:
    """One `changed` event per (field, old, new) whose value really changed."""
    events = []
    for field, old, new in changes:
        if jsonable(old) == jsonable(new):
            continue
        events.append(event_record(obj=obj, verb=verb, field=field, old=old, new=new, actor=actor, ticket=ticket))
    return events
