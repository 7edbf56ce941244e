"""python manage.py customer_erase ID --yes"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tickets.models import Customer
from tickets.services.events import Actor

from ...services.privacy import customer_erase


class Command(BaseCommand):
    help = "Erase (anonymise) one customer, keeping their tickets' numbers, statuses and times for the metrics."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("customer_id", type=int)
        parser.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")

    def handle(self, *args: Any, **options: Any) -> None:
        customer = Customer.objects.filter(pk=options["customer_id"]).first()
        if customer is None:
            raise CommandError(f"No customer with id {options['customer_id']}.")
        if not options["yes"]:
            raise CommandError("Erasing cannot be undone: run again with --yes.")
        counts = customer_erase(customer=customer, actor=Actor.system())
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in counts.items()))
