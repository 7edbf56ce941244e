"""python manage.py automation_defaults [--activate]: add the shipped automations."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tickets.automation.services import automation_defaults_install
from tickets.services.events import Actor


class Command(BaseCommand):
    help = (
        "Add the default automations (close solved tickets after 4 days, remind the customer after "
        "3 days pending) when they do not exist yet. They are added inactive unless --activate."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--activate", action="store_true", help="Add them switched on.")

    def handle(self, *args: Any, **options: Any) -> None:
        for automation, created in automation_defaults_install(actor=Actor.system(), activate=options["activate"]):
            state = "active" if automation.is_active else "inactive"
            verb = "added" if created else "already there"
            self.stdout.write(f"{automation.name}: {verb} ({state}, id {automation.pk})")
