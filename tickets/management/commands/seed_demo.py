"""`python manage.py seed_demo [--tickets N] [--if-empty] [--seed S]`: demo data and logins."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tickets.demo.seed import DemoLogin, demo_seed, demo_users_ensure
from tickets.models import Ticket


class Command(BaseCommand):
    help = gettext_lazy(
        "Fill the help desk with realistic demo data over every channel (customers, tickets, "
        "messages, events) and print the demo logins."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, default=500, help=gettext_lazy("How many tickets (default 500)."))
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help=gettext_lazy("Only seed when there are no tickets yet; the demo logins are ensured either way."),
        )
        parser.add_argument(
            "--seed", type=int, default=None, help=gettext_lazy("Random seed: the same seed gives the same data.")
        )

    def handle(self, *args, tickets: int, if_empty: bool, seed: int | None, verbosity: int, **options) -> None:
        if tickets < 0:
            self.stderr.write(_("--tickets must be zero or more."))
            return
        started = time.monotonic()
        logins = demo_users_ensure()
        if if_empty and Ticket.objects.exists():
            self.stdout.write(_("The help desk already has tickets; no demo data added (--if-empty)."))
        else:
            report = demo_seed(tickets=tickets, seed=seed, progress=verbosity > 0)
            elapsed = time.monotonic() - started
            done = _("Created %(count)s demo tickets in %(seconds).1f s.") % {
                "count": report.tickets,
                "seconds": elapsed,
            }
            self.stdout.write(self.style.SUCCESS(done))
            if verbosity > 1:
                for name, count in report.counts.items():
                    self.stdout.write(f"  {name}: {count}")
        self._print_logins(logins)

    def _print_logins(self, logins: list[DemoLogin]) -> None:
        base = getattr(settings, "SITE_URL", "http://127.0.0.1:8000").rstrip("/")
        width = max(len(login.username) for login in logins)
        pw_width = max(len(login.password) for login in logins)
        lines = [
            "",
            "=" * 72,
            _("Demo logins (for trying the help desk only; change or remove them in production)"),
            "-" * 72,
        ]
        for login in logins:
            note = _("  (existing user: password left unchanged)") if login.existed else ""
            lines.append(f"  {login.username:<{width}}  /  {login.password:<{pw_width}}  {login.role}{note}")
        lines += [
            "-" * 72,
            _("Agent workspace:  %(url)s") % {"url": f"{base}/agent/"},
            _("Admin:            %(url)s") % {"url": f"{base}/admin/"},
            _("Customer portal:  %(url)s") % {"url": f"{base}/support/"},
            _("API docs:         %(url)s") % {"url": f"{base}/api/docs/"},
            "=" * 72,
        ]
        self.stdout.write("\n".join(lines))
