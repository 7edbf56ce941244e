"""Writes of the SLA engine: start, pause, resume, fulfil and stop the clocks of a ticket, keep
the ticket's deadline columns in step, and record every transition in the SLA ledger.

The ticket services call these hooks inside their own transaction, after the change:

    sla_apply(ticket)                                   created, priority/team/organization/
                                                        channel changed, policy edited
    sla_on_status_change(ticket=, old=, new=, actor=)   any status change
    sla_on_agent_reply(ticket=, message=)               a public agent reply was stored
    sla_on_customer_message(ticket=, message=)          an inbound customer message was stored

Which clock runs when (the pause rule):

    first response   starts when the ticket is created; met by the first public agent reply.
                     Never paused: a customer waits for a first answer whatever the status.
    next response    starts at a customer message when no response clock is running (the
                     oldest unanswered message counts); met by the next public agent reply.
                     Never paused, for the same reason.
    periodic update  starts at each public agent reply and restarts at the next one; paused
                     while pending (the customer owes us an answer), running while on hold
                     (the customer is waiting on us and a third party).
    resolution       starts when the ticket is created; paused while pending or on hold; met
                     when the ticket is solved (also straight from pending). Reopening resumes
                     it with the time it had left, so time spent solved never counts.

    Solving or closing stops the response and update clocks that are still running.

All hooks are idempotent: they work out the clocks from the ticket's current state, so
calling one twice changes nothing the second time.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..models import (
    UNSOLVED_STATUSES,
    AuthorKind,
    Message,
    MessageDirection,
    Ticket,
    TicketStatus,
)
from ..models_sla import (
    SlaClock,
    SlaClockState,
    SlaLedgerEntry,
    SlaLedgerKind,
    SlaMetric,
    SlaPolicy,
    SlaTarget,
)
from ..services.events import Actor
from .calendars import BusinessHours, add_business_duration, business_time_between
from .selectors import business_hours_get, sla_policy_for, sla_target_for

PAUSE_STATUSES: dict[str, frozenset[str]] = {
    SlaMetric.FIRST_RESPONSE: frozenset(),
    SlaMetric.NEXT_RESPONSE: frozenset(),
    SlaMetric.PERIODIC_UPDATE: frozenset({TicketStatus.PENDING}),
    SlaMetric.RESOLUTION: frozenset({TicketStatus.PENDING, TicketStatus.ON_HOLD}),
}

# The ticket column that mirrors each metric's deadline (periodic update has none yet).
DUE_COLUMNS: dict[str, str] = {
    SlaMetric.FIRST_RESPONSE: "first_response_due_at",
    SlaMetric.NEXT_RESPONSE: "next_response_due_at",
    SlaMetric.RESOLUTION: "resolution_due_at",
}

LIVE = (SlaClockState.RUNNING, SlaClockState.PAUSED)
ZERO = dt.timedelta(0)


class _Work:
    """One SLA operation on one locked ticket: its clocks, calendars and new ledger rows."""

    def __init__(self, ticket: Ticket, now: dt.datetime, recalculate: bool = False) -> None:
        self.ticket = ticket
        self.now = now
        # The policy or its calendar was edited: recompute running deadlines even when the
        # clock keeps its policy, target and calendar.
        self.recalculate = recalculate
        self.clocks: dict[str, SlaClock] = {
            c.metric: c for c in SlaClock.objects.select_for_update().filter(ticket=ticket)
        }
        self.dirty: set[str] = set()
        self.entries: list[SlaLedgerEntry] = []
        self._hours: dict[int, BusinessHours] = {}
        self._policy: SlaPolicy | None = None
        self._policy_loaded = False

    # -- lookups -------------------------------------------------------------------------
    def hours(self, calendar_id: int | None) -> BusinessHours | None:
        if calendar_id is None:
            return None
        if calendar_id not in self._hours:
            self._hours[calendar_id] = business_hours_get(calendar_id=calendar_id)
        return self._hours[calendar_id]

    @property
    def policy(self) -> SlaPolicy | None:
        if not self._policy_loaded:
            self._policy = sla_policy_for(self.ticket)
            self._policy_loaded = True
        return self._policy

    def target(self, metric: str) -> SlaTarget | None:
        policy = self.policy
        return None if policy is None else sla_target_for(policy, metric=metric, priority=self.ticket.priority)

    def target_calendar_id(self, target: SlaTarget) -> int | None:
        policy = self.policy
        return policy.calendar_id if policy is not None and target.business_hours else None

    # -- ledger ---------------------------------------------------------------------------
    def record(self, clock: SlaClock, kind: str, at: dt.datetime, details: dict[str, Any] | None = None) -> None:
        self.dirty.add(clock.metric)
        self.entries.append(
            SlaLedgerEntry(
                ticket_id=self.ticket.pk,
                metric=clock.metric,
                cycle=clock.cycle,
                kind=kind,
                at=at,
                due_at=clock.due_at,
                policy_id=clock.policy_id,
                details=details or {},
            )
        )

    def describe(self, clock: SlaClock) -> dict[str, Any]:
        """What the explanation needs, frozen at the time of the transition."""
        hours = self.hours(clock.calendar_id)
        policy = self.policy if self.policy is not None and self.policy.pk == clock.policy_id else None
        return {
            "policy": policy.name if policy else "",
            "target_minutes": clock.target_minutes,
            "business": hours is not None,
            "calendar": hours.name if hours else "",
            "time_zone": hours.time_zone if hours else timezone.get_default_timezone_name(),
            "from": (clock.running_since or clock.started_at).isoformat(),
            "used_seconds": clock.elapsed.total_seconds(),
        }

    # -- clock arithmetic -----------------------------------------------------------------
    def used(self, clock: SlaClock, at: dt.datetime) -> dt.timedelta:
        used = clock.elapsed
        if clock.state == SlaClockState.RUNNING and clock.running_since is not None and at > clock.running_since:
            used += business_time_between(clock.running_since, at, self.hours(clock.calendar_id))
        return used

    def set_due(self, clock: SlaClock) -> None:
        remaining = max(dt.timedelta(minutes=clock.target_minutes) - clock.elapsed, ZERO)
        clock.due_at = add_business_duration(clock.running_since, remaining, self.hours(clock.calendar_id))
        lead = self.policy.warn_before_minutes if self.policy is not None else 0
        if lead and clock.warned_at is None and clock.breached_at is None:
            clock.warn_at = clock.due_at - dt.timedelta(minutes=lead)
        else:
            clock.warn_at = None

    # -- transitions ------------------------------------------------------------------------
    def activate(self, metric: str, target: SlaTarget, at: dt.datetime) -> SlaClock:
        clock = self.clocks.get(metric)
        if clock is None:
            clock = SlaClock(ticket_id=self.ticket.pk, metric=metric, cycle=1)
            self.clocks[metric] = clock
        else:
            clock.cycle += 1
        clock.state = SlaClockState.RUNNING
        clock.policy_id = target.policy_id
        clock.target_minutes = target.minutes
        clock.calendar_id = self.target_calendar_id(target)
        clock.started_at = clock.running_since = at
        clock.elapsed = ZERO
        clock.paused_at = clock.warned_at = clock.breached_at = clock.ended_at = None
        clock.paused_status = ""
        self.set_due(clock)
        self.record(clock, SlaLedgerKind.ACTIVATED, at, self.describe(clock))
        return clock

    def pause(self, clock: SlaClock, at: dt.datetime, status: str) -> None:
        at = max(at, clock.running_since)
        clock.elapsed = self.used(clock, at)
        due = clock.due_at
        clock.state = SlaClockState.PAUSED
        clock.running_since = None
        clock.paused_at = at
        clock.paused_status = status
        self.record(clock, SlaLedgerKind.PAUSED, at, {"status": status, "used_seconds": clock.elapsed.total_seconds()})
        clock.due_at = clock.warn_at = None
        self.entries[-1].due_at = due

    def resume(self, clock: SlaClock, at: dt.datetime, why: str) -> None:
        since = clock.paused_at or clock.ended_at or at
        at = max(at, since)
        hours = self.hours(clock.calendar_id)
        details = {
            "status": clock.paused_status or (TicketStatus.SOLVED if clock.state == SlaClockState.FULFILLED else ""),
            "why": why,
            "paused_seconds": business_time_between(since, at, hours).total_seconds(),
            "paused_wall_seconds": (at - since).total_seconds(),
            "business": hours is not None,
            "time_zone": hours.time_zone if hours else timezone.get_default_timezone_name(),
        }
        clock.state = SlaClockState.RUNNING
        clock.running_since = at
        clock.paused_at = clock.ended_at = None
        clock.paused_status = ""
        self.set_due(clock)
        self.record(clock, SlaLedgerKind.RESUMED, at, details)

    def end(self, clock: SlaClock, at: dt.datetime, kind: str, why: str) -> None:
        if clock.state == SlaClockState.RUNNING:
            at = max(at, clock.running_since)
        clock.elapsed = self.used(clock, at)
        details = {
            "why": why,
            "used_seconds": clock.elapsed.total_seconds(),
            "target_minutes": clock.target_minutes,
            "business": clock.calendar_id is not None,
            "late": clock.breached_at is not None or clock.elapsed > dt.timedelta(minutes=clock.target_minutes),
        }
        due = clock.due_at
        clock.state = SlaClockState.FULFILLED if kind == SlaLedgerKind.FULFILLED else SlaClockState.STOPPED
        clock.running_since = clock.paused_at = None
        clock.ended_at = at
        self.record(clock, kind, at, details)
        self.entries[-1].due_at = due
        clock.due_at = clock.warn_at = None

    def retarget(self, clock: SlaClock, target: SlaTarget, why: str) -> None:
        calendar_id = self.target_calendar_id(target)
        if (clock.policy_id, clock.target_minutes, clock.calendar_id) == (
            target.policy_id,
            target.minutes,
            calendar_id,
        ):
            if self.recalculate and clock.state == SlaClockState.RUNNING:
                # Same start and time used, the edited hours: the deadline as it now falls
                # (a clock already past its target keeps a deadline in the past).
                before_due = clock.due_at
                self.set_due(clock)
                if clock.due_at != before_due:
                    before = {"target_minutes": clock.target_minutes, "business": clock.calendar_id is not None}
                    self.record(
                        clock,
                        SlaLedgerKind.RECALCULATED,
                        self.now,
                        {**self.describe(clock), "why": why, "before": before, "due_before": before_due.isoformat()},
                    )
            return
        before = {"target_minutes": clock.target_minutes, "business": clock.calendar_id is not None}
        if clock.state == SlaClockState.RUNNING:
            clock.elapsed = self.used(clock, self.now)
            clock.running_since = max(self.now, clock.running_since)
        clock.policy_id = target.policy_id
        clock.target_minutes = target.minutes
        clock.calendar_id = calendar_id
        if clock.state == SlaClockState.RUNNING:
            self.set_due(clock)
        self.record(clock, SlaLedgerKind.RECALCULATED, self.now, {**self.describe(clock), "why": why, "before": before})

    # -- reconcile with the ticket's state ------------------------------------------------
    def reconcile(self, why: str) -> None:
        ticket = self.ticket
        unsolved = ticket.status in UNSOLVED_STATUSES
        for metric in SlaMetric.values:
            clock = self.clocks.get(metric)
            target = self.target(metric)
            if clock is not None and clock.state in LIVE:
                if metric == SlaMetric.FIRST_RESPONSE and ticket.first_responded_at is not None:
                    self.end(clock, ticket.first_responded_at, SlaLedgerKind.FULFILLED, "replied")
                    continue
                if not unsolved:
                    if metric == SlaMetric.RESOLUTION:
                        solved = min(ticket.solved_at or self.now, self.now)
                        self.end(clock, solved, SlaLedgerKind.FULFILLED, ticket.status)
                    else:
                        self.end(clock, self.now, SlaLedgerKind.STOPPED, ticket.status)
                    continue
                if target is None:
                    why_stop = "no_policy" if self.policy is None else "no_target"
                    self.end(clock, self.now, SlaLedgerKind.STOPPED, why_stop)
                    continue
                self.retarget(clock, target, why)
            elif unsolved and target is not None and metric in (SlaMetric.FIRST_RESPONSE, SlaMetric.RESOLUTION):
                if metric == SlaMetric.FIRST_RESPONSE and ticket.first_responded_at is not None:
                    continue
                if clock is None:
                    clock = self.activate(metric, target, ticket.created_at)
                elif clock.state == SlaClockState.FULFILLED and metric == SlaMetric.FIRST_RESPONSE:
                    continue
                else:  # reopened, or a policy applies again: the time left carries on
                    self.retarget(clock, target, why)
                    self.resume(clock, self.now, "reopened" if clock.state == SlaClockState.FULFILLED else why)
            if clock is None or clock.state not in LIVE:
                continue
            pausing = ticket.status in PAUSE_STATUSES[metric]
            if pausing and clock.state == SlaClockState.RUNNING:
                self.pause(clock, self.now, ticket.status)
            elif pausing and clock.state == SlaClockState.PAUSED and clock.paused_status != ticket.status:
                clock.paused_status = ticket.status  # pending -> on hold: still paused
                self.dirty.add(metric)
            elif not pausing and clock.state == SlaClockState.PAUSED:
                self.resume(clock, self.now, ticket.status)

    # -- save -------------------------------------------------------------------------------
    def save(self) -> None:
        for metric in self.dirty:
            self.clocks[metric].save()
        SlaLedgerEntry.objects.bulk_create(self.entries)
        columns = {}
        for metric, column in DUE_COLUMNS.items():
            clock = self.clocks.get(metric)
            due = clock.due_at if clock is not None and clock.state == SlaClockState.RUNNING else None
            if getattr(self.ticket, column) != due:
                columns[column] = due
        if columns:
            Ticket.objects.filter(pk=self.ticket.pk).update(**columns)
            for column, value in columns.items():
                setattr(self.ticket, column, value)


def _run(
    ticket: Ticket, now: dt.datetime | None, step: Callable[[_Work], None], *, recalculate: bool = False
) -> Ticket:
    """Lock the ticket, load its clocks, run `step`, save; copies the new state onto `ticket`."""
    with transaction.atomic():
        locked = (
            Ticket.objects.select_for_update(of=("self",)).select_related("requester", "organization").get(pk=ticket.pk)
        )
        work = _Work(locked, now or timezone.now(), recalculate=recalculate)
        step(work)
        work.save()
    for column in DUE_COLUMNS.values():
        setattr(ticket, column, getattr(locked, column))
    return ticket


# Deferred SLA work (the ingest transaction): inside `sla_deferred()`, the hooks below only
# note what happened to which ticket, with the time it happened; `sla_replay` runs the notes
# later, from a follow-up task, in one locked pass per ticket. The hooks work out the clocks
# from the ticket's state, so the replay sets the same deadlines (clocks start at the ticket's
# creation or the customer's message, not when the replay runs).
# ["apply", iso time] | ["status", iso time, old, new] | ["customer_message", iso time, message id, its iso time]
SlaOp = list[Any]
_deferred_ops: contextvars.ContextVar[dict[int, list[SlaOp]] | None] = contextvars.ContextVar(
    "sla_deferred", default=None
)


@contextlib.contextmanager
def sla_deferred() -> Iterator[dict[int, list[SlaOp]]]:
    """Collect SLA hook calls instead of running them: yields {ticket id: [op, ...]}."""
    ops: dict[int, list[SlaOp]] = {}
    token = _deferred_ops.set(ops)
    try:
        yield ops
    finally:
        _deferred_ops.reset(token)


def _defer(ticket: Ticket, op: SlaOp) -> bool:
    ops = _deferred_ops.get()
    if ops is None:
        return False
    ops.setdefault(ticket.pk, []).append(op)
    return True


def sla_replay(*, ticket_id: int, ops: list[SlaOp]) -> None:
    """Run the SLA hook calls noted under `sla_deferred` for one ticket, in order, each at the
    time it happened. Idempotent like the hooks themselves."""
    if not ops:
        return

    def step(work: _Work) -> None:
        for op in ops:
            work.now = max(dt.datetime.fromisoformat(op[1]), work.ticket.created_at)
            if op[0] == "apply":
                work.reconcile("apply")
            elif op[0] == "status":
                work.reconcile(f"status {op[2]} -> {op[3]}")
            elif op[0] == "customer_message":
                at = dt.datetime.fromisoformat(op[3])
                _customer_message_step(work, at, unless_answered_since=at)

    try:
        _run(Ticket(pk=ticket_id), None, step)
    except Ticket.DoesNotExist:  # deleted meanwhile: nothing to time
        return


def _answered_since(ticket: Ticket, at: dt.datetime) -> bool:
    """An agent answered publicly after `at` (a replayed customer message came late)."""
    return Message.objects.filter(
        ticket_id=ticket.pk,
        direction=MessageDirection.OUTBOUND,
        author_kind=AuthorKind.AGENT,
        is_internal=False,
        created_at__gt=at,
    ).exists()


def sla_apply(
    ticket: Ticket, *, now: dt.datetime | None = None, why: str = "apply", recalculate: bool = False
) -> SlaPolicy | None:
    """Pick the ticket's policy and bring its clocks and deadline columns in line with it
    and with the ticket's state. Call after creating a ticket and after any change that can
    select another policy or target (priority, team, organization, channel, requester).
    `recalculate`: the policy or its calendar was edited, so running deadlines are worked
    out again even where the clock keeps its target (see tickets.sla.reapply)."""
    if why == "apply" and not recalculate and _defer(ticket, ["apply", (now or timezone.now()).isoformat()]):
        return None
    chosen: list[SlaPolicy | None] = []

    def step(work: _Work) -> None:
        work.reconcile(why)
        chosen.append(work.policy)

    _run(ticket, now, step, recalculate=recalculate)
    return chosen[0]


def sla_on_status_change(
    *, ticket: Ticket, old: str, new: str, actor: Actor | None = None, now: dt.datetime | None = None
) -> None:
    """Pause, resume, fulfil or stop clocks after the ticket went from `old` to `new`."""
    if _defer(ticket, ["status", (now or timezone.now()).isoformat(), old, new]):
        return
    _run(ticket, now, lambda work: work.reconcile(f"status {old} -> {new}"))


def sla_on_agent_reply(*, ticket: Ticket, message: Message, now: dt.datetime | None = None) -> None:
    """A public agent reply meets the first and next response targets and restarts the
    periodic update clock. Internal notes change nothing."""
    if message.is_internal or message.direction != MessageDirection.OUTBOUND or message.author_kind != AuthorKind.AGENT:
        return
    at = message.created_at

    def step(work: _Work) -> None:
        for metric in (SlaMetric.FIRST_RESPONSE, SlaMetric.NEXT_RESPONSE, SlaMetric.PERIODIC_UPDATE):
            clock = work.clocks.get(metric)
            if clock is not None and clock.state in LIVE:
                work.end(clock, at, SlaLedgerKind.FULFILLED, "replied")
        target = work.target(SlaMetric.PERIODIC_UPDATE)
        if target is not None and work.ticket.status in UNSOLVED_STATUSES:
            work.activate(SlaMetric.PERIODIC_UPDATE, target, at)
        work.reconcile("agent reply")

    _run(ticket, now, step)


def sla_on_customer_message(*, ticket: Ticket, message: Message, now: dt.datetime | None = None) -> None:
    """A customer wrote: unless a response clock already runs, the next response clock starts
    at their message."""
    if message.direction != MessageDirection.INBOUND:
        return
    at = message.created_at
    if _defer(ticket, ["customer_message", (now or timezone.now()).isoformat(), message.pk, at.isoformat()]):
        return
    _run(ticket, now, lambda work: _customer_message_step(work, at))


def _customer_message_step(work: _Work, at: dt.datetime, unless_answered_since: dt.datetime | None = None) -> None:
    work.reconcile("customer message")
    waiting = [work.clocks.get(m) for m in (SlaMetric.FIRST_RESPONSE, SlaMetric.NEXT_RESPONSE) if m in work.clocks]
    if any(c.state in LIVE for c in waiting) or work.ticket.status not in UNSOLVED_STATUSES:
        return
    if work.ticket.first_responded_at is None and work.target(SlaMetric.FIRST_RESPONSE) is not None:
        return  # the first response clock covers this message
    target = work.target(SlaMetric.NEXT_RESPONSE)
    if target is None:
        return
    if unless_answered_since is not None and _answered_since(work.ticket, unless_answered_since):
        return  # replayed late: an agent has answered this message already
    work.activate(SlaMetric.NEXT_RESPONSE, target, at)
    work.reconcile("customer message")
