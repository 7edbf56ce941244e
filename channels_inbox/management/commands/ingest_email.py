"""Take one raw RFC 5322 message into the help desk (for MTA pipes and scripts)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tickets.models import RawInboundStatus
from tickets.services.ingest import InboundRejected, raw_inbound_store

from ...email.adapter import email_external_id, max_message_bytes, register_email_adapter
from ...email.parser import email_parse
from ...email.source import raw_message_read
from ...services import raw_inbound_process

_DONE = (RawInboundStatus.PROCESSED, RawInboundStatus.DUPLICATE, RawInboundStatus.IGNORED)


class Command(BaseCommand):
    help = (
        "Store one raw email (FILE, or - / nothing for standard input) and ingest it: prints "
        "'new ticket #N', 'added to ticket #N', 'duplicate', 'ignored auto-reply', 'bounce recorded' "
        "or 'failed: reason' (exit status 1)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", nargs="?", default="-", help="Path of the raw message; - or nothing for stdin.")

    def handle(self, *args, file: str, **options) -> None:
        self.stdout.write(email_ingest_outcome(raw_message_read(file, max_bytes=max_message_bytes()), source=file))


def email_ingest_outcome(payload: bytes, *, source: str = "-") -> str:
    """Store, process and describe in one line; raises CommandError on failure."""
    register_email_adapter()
    external_id = email_external_id(payload)
    try:
        raw, created = raw_inbound_store(
            channel="email",
            payload=payload,
            external_id=external_id,
            content_type="message/rfc822",
            meta={"source": "ingest_email", "file": source},
        )
    except InboundRejected as exc:
        raise CommandError(f"failed: {exc}") from exc
    if not created and raw.status in _DONE:
        return f"duplicate: {external_id} was already received (raw #{raw.pk}, {raw.status})"

    results = raw_inbound_process(raw_id=raw.pk)
    raw.refresh_from_db()
    if raw.status == RawInboundStatus.FAILED:
        raise CommandError(f"failed: {raw.error} (the raw message is kept as #{raw.pk} and can be replayed)")
    if results:
        result = results[0]
        if result.duplicate and result.ticket is not None:
            return f"duplicate: already on ticket #{result.ticket.number}"
        if result.ignored_reason:
            return f"ignored auto-reply: {result.ignored_reason}"
        if result.ticket is None:
            return "ignored"
        if result.created_ticket:
            return f"new ticket #{result.ticket.number}"
        return f"added to ticket #{result.ticket.number}"
    parsed = email_parse(payload, max_bytes=max_message_bytes())
    if parsed.is_bounce and parsed.bounce is not None:
        from ...email.adapter import bounce_record

        # bounce_record is idempotent: the delivery update was already made while processing.
        return f"bounce recorded: {bounce_record(parsed)}"
    return f"ignored: {raw.error or 'nothing to ingest'}"
