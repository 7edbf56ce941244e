"""Rebuild the dashboard rollups from the tickets, printing progress.

python manage.py metrics_rollups_rebuild                 # every day with data (at most ~3 years)
python manage.py metrics_rollups_rebuild --days 30       # the last 30 days only
python manage.py metrics_rollups_rebuild --from 2024-01-01 --to 2024-03-31
"""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from metrics.rollups import progress_printer, rollup_rebuild


class Command(BaseCommand):
    help = "Recompute the metrics rollups (every day, or a range) from the tickets, with progress."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, help="only the last N days (today included)")
        parser.add_argument("--from", dest="day_from", type=dt.date.fromisoformat, help="first day (YYYY-MM-DD)")
        parser.add_argument("--to", dest="day_to", type=dt.date.fromisoformat, help="last day (default today)")
        parser.add_argument("--every", type=int, default=10, help="print progress every N days")

    def handle(self, *args, days=None, day_from=None, day_to=None, every=10, **options) -> None:
        if days is not None and day_from is not None:
            raise CommandError("Give --days or --from, not both.")
        if days is not None:
            if days < 1:
                raise CommandError("--days must be at least 1.")
            day_from = timezone.localdate() - dt.timedelta(days=days - 1)
        if day_to is not None and day_from is None:
            raise CommandError("--to needs --from.")
        started = time.perf_counter()
        n_days, rows = rollup_rebuild(
            day_from=day_from, day_to=day_to, progress=progress_printer(self.stdout.write, every=max(1, every))
        )
        self.stdout.write(
            self.style.SUCCESS(f"Rebuilt {n_days} days, {rows} rollup rows in {time.perf_counter() - started:.1f}s.")
        )
