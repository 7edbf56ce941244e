"""Print a new inbound token for POST /inbound/email/ (it replaces the mailbox's old one)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from channels_inbox.email.mailboxes import mailbox_inbound_token_issue
from channels_inbox.models import Mailbox


class Command(BaseCommand):
    help = "Print a new inbound token for POST /inbound/email/ (replaces the mailbox's old one)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("address", help="The mailbox's address, e.g. support@example.com.")

    def handle(self, *args, address: str, **options) -> None:
        mailbox = Mailbox.objects.filter(address__iexact=address).first()
        if mailbox is None:
            known = ", ".join(Mailbox.objects.values_list("address", flat=True)[:10])
            known = known or "none yet (add one in the admin)"
            raise CommandError(f"No mailbox {address}. Mailboxes: {known}.")
        self.stdout.write(mailbox_inbound_token_issue(mailbox=mailbox))
