"""The SLA sweep: find clocks whose deadline (or warning time) has passed, record the breach
(or warning) once, and escalate. Celery beat runs it every minute (`sla_sweep_task`).

Batches of `batch_size` tickets, each in its own short transaction. Locks are taken in the
same order as the SLA hooks (ticket row, then its clocks), and ticket rows another
transaction holds are skipped (`skip_locked`) and picked up by the next run, so two sweeps
running at once never wait on each other and never record the same breach twice; the
ledger's unique constraint backs this up in the database.

Escalation on breach, in the same transaction:
- always an audit Event `sla_breached` on the ticket (what the agent UI and, later, the
  notifications read), naming who to notify: the assignee and the team lead;
- `raise priority` one step (low -> normal -> high -> urgent) through `ticket_update`;
- `reassign` to the policy's escalation agent through `ticket_update`.
A warning records an Event `sla_warned` for the same people.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.signals import post_save
from django.utils import timezone

from ..models import ActorKind, Event, Ticket, TicketPriority
from ..models_sla import SlaClock, SlaClockState, SlaLedgerEntry, SlaLedgerKind
from ..services.events import Actor, jsonable
from ..services.tickets import ticket_update

logger = logging.getLogger(__name__)

PRIORITY_ORDER = [TicketPriority.LOW, TicketPriority.NORMAL, TicketPriority.HIGH, TicketPriority.URGENT]
DEFAULT_BATCH_SIZE = 500


@dataclass
class SweepResult:
    breached: int = 0
    warned: int = 0
    batches: int = 0
    skipped_locked: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "breached": self.breached,
            "warned": self.warned,
            "batches": self.batches,
            "skipped_locked": self.skipped_locked,
        }


def _due(kind: str, now: dt.datetime) -> QuerySet[SlaClock]:
    live = SlaClock.objects.filter(state=SlaClockState.RUNNING, breached_at__isnull=True)
    if kind == SlaLedgerKind.BREACHED:
        return live.filter(due_at__lte=now).order_by("due_at")
    # Warn only clocks not yet due: one that is already due gets its breach instead.
    return live.filter(warned_at__isnull=True, warn_at__lte=now, due_at__gt=now).order_by("warn_at")


def sla_sweep(
    *, now: dt.datetime | None = None, batch_size: int = DEFAULT_BATCH_SIZE, max_batches: int = 1000
) -> SweepResult:
    """Record every breach and warning due at `now`; returns what was done."""
    now = now or timezone.now()
    result = SweepResult()
    for kind in (SlaLedgerKind.BREACHED, SlaLedgerKind.WARNED):
        while result.batches < max_batches:
            done, more = _sweep_batch(kind, now, batch_size, result)
            result.batches += 1
            if kind == SlaLedgerKind.BREACHED:
                result.breached += done
            else:
                result.warned += done
            if not more:
                break
    return result


def _sweep_batch(kind: str, now: dt.datetime, batch_size: int, result: SweepResult) -> tuple[int, bool]:
    with transaction.atomic():
        candidates = list(_due(kind, now).values_list("ticket_id", flat=True)[:batch_size])
        if not candidates:
            return 0, False
        locked = list(
            Ticket.objects.select_for_update(skip_locked=True)
            .filter(pk__in=set(candidates))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        result.skipped_locked += len(set(candidates)) - len(locked)
        if not locked:
            return 0, False  # another sweep (or a busy agent) holds them; the next run retries
        clocks = list(
            _due(kind, now)
            .filter(ticket_id__in=locked)
            .select_for_update(of=("self",))
            .select_related("ticket__team", "policy__breach_reassign_to")
        )
        if not clocks:
            return 0, len(candidates) == batch_size
        field = "breached_at" if kind == SlaLedgerKind.BREACHED else "warned_at"
        SlaClock.objects.filter(pk__in=[c.pk for c in clocks]).update(**{field: now})
        SlaLedgerEntry.objects.bulk_create(
            [
                SlaLedgerEntry(
                    ticket_id=c.ticket_id,
                    metric=c.metric,
                    cycle=c.cycle,
                    kind=kind,
                    at=now,
                    due_at=c.due_at,
                    policy_id=c.policy_id,
                    details={"late_seconds": max((now - c.due_at).total_seconds(), 0.0)}
                    if kind == SlaLedgerKind.BREACHED
                    else {"before_seconds": (c.due_at - now).total_seconds()},
                )
                for c in clocks
            ]
        )
        events = Event.objects.bulk_create([_event(c, kind, now) for c in clocks])
        for event in events:
            # bulk_create sends no signal: tell the Event listeners (webhooks, notifications,
            # live updates) as a save would.
            post_save.send(sender=Event, instance=event, created=True, raw=False, using="default", update_fields=None)
        if kind == SlaLedgerKind.BREACHED:
            escalated: set[int] = set()
            for clock in clocks:  # once per ticket, even when two of its clocks breach together
                if clock.ticket_id not in escalated:
                    escalated.add(clock.ticket_id)
                    _escalate(clock)
    return len(clocks), len(candidates) == batch_size


def _notify_ids(ticket: Ticket) -> list[int]:
    ids = [ticket.assignee_id, ticket.team.lead_id if ticket.team_id else None]
    return [i for i in dict.fromkeys(ids) if i is not None]


def _event(clock: SlaClock, kind: str, now: dt.datetime) -> Event:
    ticket = clock.ticket
    return Event(
        ticket=ticket,  # the loaded ticket, so the Event listeners read it without a query
        object_type="ticket",
        object_id=ticket.pk,
        verb="sla_breached" if kind == SlaLedgerKind.BREACHED else "sla_warned",
        field="",
        data=jsonable(
            {
                "metric": clock.metric,
                "due_at": clock.due_at,
                "policy": clock.policy.name if clock.policy else "",
                "notify": _notify_ids(ticket),
            }
        ),
        actor_kind=ActorKind.SYSTEM,
        created_at=now,
    )


def _escalate(clock: SlaClock) -> None:
    policy = clock.policy
    if policy is None:
        return
    ticket = clock.ticket
    changes = {}
    if policy.breach_raise_priority and ticket.priority in PRIORITY_ORDER[:-1]:
        changes["priority"] = PRIORITY_ORDER[PRIORITY_ORDER.index(ticket.priority) + 1]
    target = policy.breach_reassign_to
    if target is not None and ticket.assignee_id != target.pk:
        changes["assignee"] = target
    if not changes:
        return
    try:
        with transaction.atomic():
            ticket_update(ticket=ticket, changes=changes, actor=Actor.system())
    except ValidationError as exc:
        # An escalation agent who left, say: the breach stays recorded, the failure visible.
        logger.warning("SLA escalation of ticket %s failed: %s", ticket.number, exc)
        Event.objects.create(
            ticket=ticket,
            object_type="ticket",
            object_id=ticket.pk,
            verb="sla_escalation_failed",
            data=jsonable({"metric": clock.metric, "changes": changes, "error": exc.messages}),
            actor_kind=ActorKind.SYSTEM,
        )
