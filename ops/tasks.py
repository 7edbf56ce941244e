from __future__ import annotations

from celery import shared_task

from .recovery import stalled_requeue


@shared_task(name="ops.stalled_requeue")
def stalled_requeue_task() -> dict[str, int]:
    """Beat: queue again the payloads and messages whose task a broker restart lost."""
    result = stalled_requeue()
    return {"raw_inbound": len(result.raw_inbound), "messages": len(result.messages)}
