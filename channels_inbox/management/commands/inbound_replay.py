"""Re-run stored raw inbound payloads through their adapter, e.g. after a parser fix."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from tickets.models import RawInbound, RawInboundStatus

from ...services import raw_inbound_process, raw_inbound_replayable


class Command(BaseCommand):
    help = (
        "Process stored raw inbound payloads again. By default: every payload that failed or was "
        "never processed. Nothing is stored twice: messages already ingested are recognised."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="Only these raw payload ids.")
        parser.add_argument("--channel", help="Only payloads of this channel (email, sms, ...).")
        parser.add_argument("--all", action="store_true", help="Also payloads already processed.")

    def handle(self, *args, ids: list[int], channel: str | None, all: bool, **options) -> None:
        qs = (
            RawInbound.objects.filter(pk__in=ids)
            if ids
            else raw_inbound_replayable(channel=channel, include_processed=all)
        )
        pks = list(qs.values_list("pk", flat=True))
        if not pks:
            self.stdout.write("Nothing to replay.")
            return
        stored = 0
        for pk in tqdm(pks, desc="Replaying", unit="payload", disable=None):
            stored += sum(1 for result in raw_inbound_process(raw_id=pk) if not result.duplicate and result.message)
        failed = RawInbound.objects.filter(pk__in=pks, status=RawInboundStatus.FAILED).count()
        self.stdout.write(f"Replayed {len(pks)} payload(s): {stored} new message(s), {failed} still failing.")
        if failed:
            self.stdout.write("See the errors in the admin under Channels > Raw inbound payloads.")
