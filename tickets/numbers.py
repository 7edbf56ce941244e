"""Human-friendly ticket numbers, handed out in order of creation."""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from .models import TicketNumberCounter


def ticket_numbers_reserve(count: int) -> list[int]:
    """`count` fresh ticket numbers in ascending order, in one round trip.

    PostgreSQL: from the `tickets_ticket_number_seq` sequence (no lock held). SQLite, which
    has one writer at a time: by advancing a counter row inside the caller's transaction."""
    if count <= 0:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if count == 1:
                cursor.execute("SELECT nextval('tickets_ticket_number_seq')")
            else:
                cursor.execute("SELECT nextval('tickets_ticket_number_seq') FROM generate_series(1, %s)", [count])
            return sorted(int(row[0]) for row in cursor.fetchall())
    counter, _created = TicketNumberCounter.objects.select_for_update().get_or_create(
        pk=1, defaults={"last": settings.HELPDESK_TICKET_NUMBER_START - 1}
    )
    first = counter.last + 1
    counter.last += count
    counter.save(update_fields=["last"])
    return list(range(first, first + count))


def ticket_number_next() -> int:
    return ticket_numbers_reserve(1)[0]
