from __future__ import annotations

from celery import shared_task

from .services import raw_inbound_process


@shared_task(acks_late=True, name="channels_inbox.raw_inbound_process")
def raw_inbound_process_task(raw_id: int) -> int:
    """Idempotent: replaying a processed payload finds its messages already stored."""
    return len(raw_inbound_process(raw_id=raw_id))
