"""Celery tasks of the SLA engine. Beat runs `sla_sweep_task` every minute; it is safe to run
twice or concurrently (see tickets.sla.sweep)."""

from __future__ import annotations

from celery import shared_task

from ..models import Ticket
from .services import sla_apply
from .sweep import sla_sweep


@shared_task(acks_late=True, name="tickets.sla_sweep")
def sla_sweep_task() -> dict[str, int]:
    return sla_sweep().as_dict()


@shared_task(acks_late=True, name="tickets.sla_apply")
def sla_apply_task(ticket_id: int, why: str = "apply") -> str:
    """For after-commit use: `transaction.on_commit(lambda: sla_apply_task.delay(pk))`."""
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return "missing"
    sla_apply(ticket, why=why)
    return "ok"


@shared_task(acks_late=True, name="tickets.sla_reapply")
def sla_reapply_task(after_id: int = 0, why: str = "policy_changed", generation: int | None = None) -> int:
    """One batch of the re-apply after a policy or calendar edit; queues the next batch."""
    from .reapply import sla_reapply_batch

    done, last = sla_reapply_batch(after_id=after_id, why=why, generation=generation)
    if last:
        sla_reapply_task.delay(last, why, generation)
    return done
