"""Editing a promise changes the deadlines of the tickets it covers: when an SLA policy, one of
its targets or conditions, or a business-hours calendar (intervals, holidays, time zone) is
created, changed or deleted, every unsolved ticket is re-applied after the change commits.

The work runs in batches on a worker (`tickets.sla_reapply`, one batch per task, each task
queueing the next), so a large help desk is never locked up and a worker killed mid-way loses
at most one batch, which the next edit or a manual `python manage.py sla_reapply` redoes:
`sla_apply` is idempotent. Each ticket whose deadline moves gets a `recalculated` ledger entry
saying why, which the ticket page explains.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from ..models import UNSOLVED_STATUSES, Ticket
from ..models_sla import BusinessCalendar, BusinessHoliday, BusinessInterval, SlaPolicy, SlaTarget
from .services import sla_apply

WHY_POLICY = "policy_changed"
WHY_CALENDAR = "calendar_changed"


def sla_reapply_batch(
    *, after_id: int = 0, why: str = WHY_POLICY, batch_size: int | None = None, generation: int | None = None
) -> tuple[int, int]:
    """Re-apply the SLA to the next `batch_size` unsolved tickets with id above `after_id`,
    recalculating every running deadline. Returns (tickets done, last id; 0 when finished or
    superseded by a newer edit's re-apply)."""
    if sla_reapply_superseded(generation):
        return 0, 0
    size = batch_size or settings.SLA_REAPPLY_BATCH
    ids = list(
        Ticket.objects.filter(pk__gt=after_id, status__in=UNSOLVED_STATUSES, merged_into__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:size]
    )
    for ticket in Ticket.objects.filter(pk__in=ids).order_by("pk"):
        sla_apply(ticket, why=why, recalculate=True)
    return len(ids), (ids[-1] if len(ids) == size else 0)


def sla_reapply_all(*, why: str = WHY_POLICY, batch_size: int | None = None, progress: Any = None) -> int:
    """Every unsolved ticket, in this process (the management command)."""
    after, total = 0, 0
    while True:
        done, after = sla_reapply_batch(after_id=after, why=why, batch_size=batch_size)
        total += done
        if progress is not None:
            progress(done)
        if not after:
            return total


GENERATION_KEY = "sla:reapply:generation"


def _generation_next() -> int:
    cache.add(GENERATION_KEY, 0, timeout=None)
    return cache.incr(GENERATION_KEY)


def sla_reapply_superseded(generation: int | None) -> bool:
    """A later edit queued a fresh re-apply from the first ticket: this one can stop."""
    return generation is not None and (cache.get(GENERATION_KEY) or 0) > generation


def sla_reapply_schedule(*, why: str = WHY_POLICY) -> None:
    """Queue the re-apply once the current transaction commits. Several edits in a row (a
    policy and its targets in one admin save) each queue one, but every run but the latest
    stops at once: each takes a generation number and gives way to a newer one."""
    from .tasks import sla_reapply_task

    def queue() -> None:
        sla_reapply_task.delay(0, why, _generation_next())

    transaction.on_commit(queue)


def _policy_changed(sender: type, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    if sender is not SlaPolicy and kwargs.get("action") not in (None, "post_add", "post_remove", "post_clear"):
        return
    sla_reapply_schedule(why=WHY_POLICY)


def _calendar_changed(sender: type, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    sla_reapply_schedule(why=WHY_CALENDAR)


def connect() -> None:
    """Called from TicketsConfig.ready."""
    for model in (SlaPolicy, SlaTarget):
        post_save.connect(_policy_changed, sender=model, dispatch_uid=f"sla_reapply_save_{model.__name__}")
        post_delete.connect(_policy_changed, sender=model, dispatch_uid=f"sla_reapply_delete_{model.__name__}")
    for through in (SlaPolicy.organizations.through, SlaPolicy.teams.through):
        m2m_changed.connect(_policy_changed, sender=through, dispatch_uid=f"sla_reapply_m2m_{through.__name__}")
    for model in (BusinessCalendar, BusinessInterval, BusinessHoliday):
        post_save.connect(_calendar_changed, sender=model, dispatch_uid=f"sla_reapply_save_{model.__name__}")
        post_delete.connect(_calendar_changed, sender=model, dispatch_uid=f"sla_reapply_delete_{model.__name__}")
