"""Running a ticket's triggers after something happened to it.

`triggers_run(ticket_id=...)` takes the ticket's events that triggers react to and that no
run has looked at yet, in order, groups them by who made them (a person or the system, or a
trigger acting in a chain), and evaluates the active triggers by position on each group:

- a trigger never reacts to a group its own actions made;
- a trigger fires at most once per ticket per chain (a change made by a person starts a
  chain; changes made by triggers continue it), so two triggers cannot ping-pong;
- a chain stops at AUTOMATION_TRIGGER_MAX_DEPTH firings deep;
- a trigger fires at most AUTOMATION_TRIGGER_MAX_PER_HOUR times per ticket per hour
  (a customer's auto-responder answering a trigger's message cannot go on forever);
- later triggers see the changes earlier ones made.

Everything happens in one transaction holding the ticket's row lock; the events looked at
are marked, so a retried or duplicate task changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from tickets.models import Event, Message, Ticket

from ..models import FiringOutcome, Trigger, TriggerEventMark, TriggerFiring
from ..origin import Origin, acting_as
from ..receivers import RELEVANT_EVENTS_Q, event_kind
from ..rules import TRIGGER, Happening, conditions_hold, facts_for
from . import settings as conf
from .actions import actions_run

logger = logging.getLogger(__name__)


@dataclass
class TriggerRunResult:
    events: int = 0
    fired: list[tuple[int, int]] = field(default_factory=list)  # (trigger id, chain)
    held_back: list[int] = field(default_factory=list)  # triggers stopped by the rate limit
    stopped_deep: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"events": self.events, "fired": self.fired, "held_back": self.held_back, "deep": self.stopped_deep}


def _unseen_events(ticket_id: int, now: dt.datetime) -> list[Event]:
    seen = TriggerEventMark.objects.filter(event_id=OuterRef("pk"))
    return list(
        Event.objects.filter(ticket_id=ticket_id, created_at__gte=now - dt.timedelta(hours=conf.event_window_hours()))
        .filter(RELEVANT_EVENTS_Q)
        .filter(~Exists(seen))
        .order_by("id")
    )


def _origin_key(event: Event) -> tuple | None:
    origin = Origin.from_event_data(event.data)
    return None if origin is None else (origin.kind, origin.rule_id, origin.chain, origin.depth)


def _groups(events: list[Event]) -> list[list[Event]]:
    """Consecutive events made by the same hand (a person, the system, one rule's firing)."""
    groups: list[list[Event]] = []
    for event in events:
        if groups and _origin_key(groups[-1][0]) == _origin_key(event):
            groups[-1].append(event)
        else:
            groups.append([event])
    return groups


def _change_value(event: Event, old: bool) -> Any:
    return event.old_value if old else event.new_value


def happening_of(events: list[Event]) -> Happening:
    happening = Happening()
    message_ids = []
    for event in events:
        kind = event_kind(event)
        if kind is None:
            continue
        happening.kinds.add(kind)
        if kind == "ticket_updated":
            previous = happening.changes.get(event.field)
            old = previous[0] if previous else event.old_value
            happening.changes[event.field] = (old, event.new_value)
        elif kind in ("customer_reply", "agent_reply"):
            message_ids.append(event.object_id)
    if "ticket_created" in happening.kinds:
        # The first message is part of the creation, not a reply.
        happening.kinds.discard("customer_reply")
    if message_ids:
        happening.message_text = (
            Message.objects.filter(pk=message_ids[-1]).values_list("body_text", flat=True).first() or ""
        )
    return happening


def _fired_recently(trigger_id: int, ticket_id: int, now: dt.datetime) -> int:
    return TriggerFiring.objects.filter(
        trigger_id=trigger_id,
        ticket_id=ticket_id,
        outcome=FiringOutcome.FIRED,
        created_at__gte=now - dt.timedelta(hours=1),
    ).count()


def _evaluate(
    ticket: Ticket, triggers: list[Trigger], events: list[Event], now: dt.datetime, result: TriggerRunResult
) -> None:
    made_by = Origin.from_event_data(events[0].data)
    if made_by is not None and made_by.kind == TRIGGER:
        chain, depth, own = made_by.chain or events[0].pk, made_by.depth, made_by.rule_id
    else:
        chain, depth, own = events[0].pk, 0, None
    if depth >= conf.max_depth():
        logger.warning("Trigger chain %s on ticket %s stopped at depth %s", chain, ticket.number, depth)
        result.stopped_deep += 1
        return
    happening = happening_of(events)
    if not happening.kinds:
        return
    already = set(TriggerFiring.objects.filter(ticket=ticket, chain=chain).values_list("trigger_id", flat=True))
    facts = facts_for(ticket)
    for trigger in triggers:
        if trigger.pk == own or trigger.pk in already:
            continue
        if not conditions_hold(trigger.conditions, facts, happening=happening, now=now):
            continue
        firing = TriggerFiring(trigger=trigger, ticket=ticket, chain=chain, event_id=events[0].pk, depth=depth)
        if _fired_recently(trigger.pk, ticket.pk, now) >= conf.max_firings_per_hour():
            firing.outcome = FiringOutcome.RATE_LIMITED
            firing.save()
            result.held_back.append(trigger.pk)
            continue
        firing.save()
        origin = Origin(kind=TRIGGER, rule_id=trigger.pk, name=trigger.name, chain=chain, depth=depth + 1)
        with acting_as(origin) as actor:
            firing.results = actions_run(ticket=ticket, actions=trigger.actions, origin=origin, actor=actor)
        firing.save(update_fields=["results"])
        result.fired.append((trigger.pk, chain))
        facts = facts_for(ticket)  # later triggers see this one's changes


def triggers_run(*, ticket_id: int, now: dt.datetime | None = None) -> TriggerRunResult:
    """Evaluate the active triggers on whatever happened to the ticket since the last run."""
    now = now or timezone.now()
    result = TriggerRunResult()
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("requester", "organization")
            .filter(pk=ticket_id)
            .first()
        )
        if ticket is None:
            return result
        triggers = list(Trigger.objects.filter(is_active=True).order_by("position", "id"))
        # Changes made by triggers are new events, evaluated in the next round (same transaction).
        for _round in range(conf.max_depth() + 2):
            events = _unseen_events(ticket_id, now=timezone.now())
            if not events:
                break
            TriggerEventMark.objects.bulk_create(
                [TriggerEventMark(event_id=e.pk, ticket_id=ticket_id) for e in events], ignore_conflicts=True
            )
            result.events += len(events)
            if not triggers:
                break
            for group in _groups(events):
                _evaluate(ticket, triggers, group, now, result)
    return result
