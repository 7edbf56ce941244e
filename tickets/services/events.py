"""The audit log: every change made through a service leaves an Event."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models
from django.db.models.signals import pre_save

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


# Inside `events_deferred()` (the ingest transaction), an Event is inserted without its
# post_save receivers (live push, counts, notifications, routing, triggers, webhooks); its id is
# collected so that one follow-up task replays the receivers later (`events_dispatch`).
_deferred_ids: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("events_deferred", default=None)


@contextlib.contextmanager
def events_deferred() -> Iterator[list[int]]:
    """Events recorded inside are written at once (each is its own INSERT, so a rolled-back
    savepoint takes its events with it) but their post_save receivers do not run: the caller
    hands the yielded ids to `events_dispatch`, typically from a task after commit."""
    ids: list[int] = []
    token = _deferred_ids.set(ids)
    try:
        yield ids
    finally:
        _deferred_ids.reset(token)


def events_dispatch(*, event_ids: Iterable[int]) -> int:
    """Run the post_save receivers of Events written under `events_deferred`, in the order they
    were written (outside a transaction their after-commit work runs at once, in that order).
    Events that no longer exist (a rolled-back savepoint) are skipped. Returns how many ran."""
    from django.db.models.signals import post_save

    events = list(Event.objects.filter(pk__in=list(event_ids)).select_related("ticket").order_by("pk"))
    for event in events:
        post_save.send(sender=Event, instance=event, created=True, update_fields=None, raw=False, using="default")
    return len(events)


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
    deferred = _deferred_ids.get()
    if deferred is not None:
        event = Event(
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
        # pre_save receivers still run (they only annotate the row); post_save ones wait.
        pre_save.send(sender=Event, instance=event, raw=False, using="default", update_fields=None)
        Event.objects.bulk_create([event])
        deferred.append(event.pk)
        return event
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
