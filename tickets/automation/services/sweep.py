"""The automation sweep: time-based rules over open tickets, run by beat every
AUTOMATION_SWEEP_SECONDS (an hour by default).

For each active automation the candidates come from one indexed query (status, priority and
team conditions, and the hours_since_... thresholds turned into time cutoffs on the ticket's
columns), minus the tickets it was already applied to in their current state; they are read
in batches by id. Each candidate is then locked, its conditions checked again, the
application recorded (unique per automation, ticket and "status since" time) and the actions
run, all in one transaction per ticket. So a sweep that runs twice, or two sweeps at once,
apply an automation at most once per ticket state; when the ticket's status changes (say it
is reopened and solved again), the automation may apply again.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from tickets.models import Event, Ticket, TicketStatus

from ..models import Automation, AutomationApplication
from ..origin import Origin, acting_as
from ..rules import AUTOMATION, HOURS_FIELDS, conditions_hold, facts_for
from . import settings as conf
from .actions import actions_run

logger = logging.getLogger(__name__)


def status_since_expression() -> Coalesce:
    """When the ticket's status last changed (its creation when it never did)."""
    last_change = (
        Event.objects.filter(ticket_id=OuterRef("pk"), object_type="ticket", field="status")
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )
    return Coalesce(Subquery(last_change, output_field=DateTimeField()), F("created_at"))


def status_since(ticket: Ticket) -> dt.datetime:
    return (
        Ticket.objects.filter(pk=ticket.pk)
        .annotate(since=status_since_expression())
        .values_list("since", flat=True)
        .get()
    )


_COLUMN_FOR_FILTER = {**HOURS_FIELDS, "hours_since_status_changed": "status_since_at"}


def _prefilter(conditions: dict, now: dt.datetime) -> Q:
    """Necessary conditions as a database filter: only "all" conditions, and only those that
    use an index or cut the set by time. The Python check decides in the end."""
    q = Q()
    for cond in conditions.get("all") or []:
        name, op, value = cond["field"], cond["operator"], cond.get("value")
        if name in ("status", "priority"):
            if op == "is":
                q &= Q(**{name: value})
            elif op == "in":
                q &= Q(**{f"{name}__in": value})
            elif op == "is_not":
                q &= ~Q(**{name: value})
        elif name == "team" and op == "is":
            q &= Q(team_id=value) if value is not None else Q(team__isnull=True)
        elif name in HOURS_FIELDS:
            column = _COLUMN_FOR_FILTER[name]
            cutoff = now - dt.timedelta(hours=float(value))
            q &= Q(**{f"{column}__lte": cutoff}) if op == "at_least" else Q(**{f"{column}__gt": cutoff})
    return q


def automation_candidates(automation: Automation, *, now: dt.datetime) -> QuerySet[Ticket]:
    applied = AutomationApplication.objects.filter(
        automation=automation, ticket_id=OuterRef("pk"), state_since=OuterRef("status_since_at")
    )
    return (
        Ticket.objects.exclude(status=TicketStatus.CLOSED)
        .annotate(status_since_at=status_since_expression())
        .filter(_prefilter(automation.conditions, now))
        .filter(~Exists(applied))
    )


def automation_apply(*, automation: Automation, ticket_id: int, now: dt.datetime) -> list[dict] | None:
    """Apply the automation to one ticket if its conditions hold and it was not applied in
    this state before; the results of its actions, or None when nothing was done."""
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("requester", "organization")
            .filter(pk=ticket_id)
            .exclude(status=TicketStatus.CLOSED)
            .first()
        )
        if ticket is None:
            return None
        since = status_since(ticket)
        if not conditions_hold(automation.conditions, facts_for(ticket, status_since=since), now=now):
            return None
        try:
            with transaction.atomic():
                application = AutomationApplication.objects.create(
                    automation=automation, ticket=ticket, state_since=since
                )
        except IntegrityError:
            return None  # applied by a concurrent sweep
        origin = Origin(kind=AUTOMATION, rule_id=automation.pk, name=automation.name)
        with acting_as(origin) as actor:
            application.results = actions_run(ticket=ticket, actions=automation.actions, origin=origin, actor=actor)
        application.save(update_fields=["results"])
        return application.results


@dataclass
class SweepResult:
    automations: int = 0
    checked: int = 0
    applied: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"automations": self.automations, "checked": self.checked, "applied": self.applied}


def automation_sweep(*, now: dt.datetime | None = None, batch_size: int | None = None) -> SweepResult:
    """Run every active automation over the tickets it matches, in batches."""
    now = now or timezone.now()
    size = batch_size or conf.sweep_batch()
    result = SweepResult()
    for automation in Automation.objects.filter(is_active=True).order_by("position", "id"):
        result.automations += 1
        after = 0
        while True:
            batch = list(
                automation_candidates(automation, now=now)
                .filter(pk__gt=after)
                .order_by("pk")
                .values_list("pk", flat=True)[:size]
            )
            if not batch:
                break
            after = batch[-1]
            for ticket_id in batch:
                result.checked += 1
                try:
                    if automation_apply(automation=automation, ticket_id=ticket_id, now=now) is not None:
                        result.applied += 1
                except Exception:  # one broken ticket must not stop the sweep for all others
                    logger.exception("Automation %s failed on ticket id %s", automation.pk, ticket_id)
    return result
