"""python manage.py create_api_token USERNAME [--name N] [--scope read|write] [--expires-days D]

Prints the new key alone on the last line of stdout, so a script can capture it:

    KEY=$(python manage.py create_api_token alice --scope read | tail -n 1)
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apitokens.models import TokenScope
from apitokens.services import api_token_create, scopes_for


class Command(BaseCommand):
    help = "Create an API token for a user and print its key (shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for, e.g. 'CRM sync'.")
        parser.add_argument(
            "--scope",
            choices=TokenScope.values,
            default=TokenScope.WRITE,
            help="read: only GET; write: read and change (default).",
        )
        parser.add_argument("--expires-days", type=int, default=None, help="Expire after this many days.")

    def handle(self, *args, username: str, name: str, scope: str, expires_days: int | None, **options) -> None:
        user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if expires_days is not None and expires_days <= 0:
            raise CommandError("--expires-days must be a positive number of days.")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        try:
            token, key = api_token_create(user=user, name=name, scopes=scopes_for(scope), expires_at=expires_at)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        expiry = f"expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "does not expire"
        self.stderr.write(
            f"Created API token {token.prefix}… for {username} (scopes: {', '.join(token.scopes)}; {expiry}). "
            "Copy the key below now; it is not stored and cannot be shown again."
        )
        self.stdout.write(key)
