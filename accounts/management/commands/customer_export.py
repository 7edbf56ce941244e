"""python manage.py customer_export ID [--output FILE] [--include-internal]"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tickets.models import Customer

from ...services.privacy import customer_export


class Command(BaseCommand):
    help = "Write a zip of everything held about one customer (JSON and attachment files)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("customer_id", type=int)
        parser.add_argument(
            "--output", "-o", default="", help="file to write (default: customer-<ID>.zip; - for stdout)"
        )
        parser.add_argument("--include-internal", action="store_true", help="also export internal notes")

    def handle(self, *args: Any, **options: Any) -> None:
        customer = Customer.objects.filter(pk=options["customer_id"]).first()
        if customer is None:
            raise CommandError(f"No customer with id {options['customer_id']}.")
        data = customer_export(customer=customer, include_internal=options["include_internal"])
        output = options["output"] or f"customer-{customer.pk}.zip"
        if output == "-":
            sys.stdout.buffer.write(data)
            return
        with open(output, "wb") as handle:
            handle.write(data)
        self.stdout.write(f"{output} ({len(data)} bytes)")
