"""python manage.py sla_reapply: re-apply the SLA policies to every unsolved ticket now, in
this process (after a bulk import, or to finish a re-apply a stopped worker left undone)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from tickets.models import UNSOLVED_STATUSES, Ticket
from tickets.sla.reapply import WHY_POLICY, sla_reapply_all


class Command(BaseCommand):
    help = "Re-apply the SLA policies and business hours to every unsolved ticket."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None, help="tickets per batch (SLA_REAPPLY_BATCH)")

    def handle(self, *args, batch_size=None, **options):
        total = Ticket.objects.filter(status__in=UNSOLVED_STATUSES, merged_into__isnull=True).count()
        with tqdm(total=total, unit="ticket", file=self.stderr, disable=not total) as bar:
            done = sla_reapply_all(why=WHY_POLICY, batch_size=batch_size, progress=bar.update)
        self.stdout.write(f"Re-applied the SLA to {done} unsolved ticket(s).")
