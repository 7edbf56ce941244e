from __future__ import annotations

from celery import shared_task
from django.conf import settings

from .services import raw_inbound_process


# ignore_result: nobody reads the count back, and storing it costs a round trip to the result
# backend for every inbound message (the outcome is on the RawInbound row).
@shared_task(acks_late=True, ignore_result=True, name="channels_inbox.raw_inbound_process")
def raw_inbound_process_task(raw_id: int) -> int:
    """Idempotent: replaying a processed payload finds its messages already stored."""
    return len(raw_inbound_process(raw_id=raw_id))


@shared_task(acks_late=True, name="channels_inbox.email_mailbox_poll")
def email_mailbox_poll_task(mailbox_id: int) -> dict:
    """Import one mailbox's new mail. A lock keeps two workers off one mailbox; UID tracking and
    the raw store's dedupe make a repeated run store nothing twice."""
    from .email.imap import mailbox_poll

    result = mailbox_poll(mailbox_id=mailbox_id)
    return {
        "mailbox": mailbox_id,
        "skipped": result.skipped,
        "fetched": result.fetched,
        "stored": result.stored,
        "duplicates": result.duplicates,
        "failed": result.failed,
        "error": result.error,
    }


@shared_task(name="channels_inbox.email_mailboxes_poll")
def email_mailboxes_poll_task() -> int:
    """Beat: one poll task per active IMAP mailbox, so a slow mailbox never delays the others.
    A poll still waiting when the next round is due expires instead of piling up."""
    from .models import Mailbox

    expires = int(getattr(settings, "HELPDESK_IMAP_POLL_SECONDS", 60))
    ids = list(Mailbox.objects.filter(is_active=True).exclude(imap_host="").values_list("id", flat=True))
    for mailbox_id in ids:
        email_mailbox_poll_task.apply_async(args=[mailbox_id], expires=expires)
    return len(ids)
