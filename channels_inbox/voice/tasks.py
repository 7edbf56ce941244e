from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, name="channels_voice.voice_raw_process")
def voice_raw_process_task(raw_id: int) -> int:
    """Idempotent: a call is logged once (by its CallSid), a call-back requested once."""
    from .services import voice_raw_process

    return len(voice_raw_process(raw_id=raw_id))
