"""Human-friendly ticket numbers, handed out without gaps in order of creation."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.db.models import F

from .models import TicketNumberCounter


def ticket_number_next() -> int:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval('tickets_ticket_number_seq')")
            return int(cursor.fetchone()[0])
    # SQLite has one writer at a time, so a counter row updated in the caller's transaction
    # cannot hand the same number out twice.
    updated = TicketNumberCounter.objects.filter(pk=1).update(last=F("last") + 1)
    if not updated:
        TicketNumberCounter.objects.create(pk=1, last=settings.HELPDESK_TICKET_NUMBER_START)
    return TicketNumberCounter.objects.get(pk=1).last
