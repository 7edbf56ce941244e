"""python manage.py backup [--output-dir DIR]: the database and the stored files, with a manifest."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ops.backup import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump custom format, or a copy of the SQLite file) and every file "
        "under MEDIA_ROOT into one new directory helpdesk-backup-<UTC time>/ with manifest.json "
        "(row counts, file checksums). Prints the directory."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--output-dir",
            default=str(getattr(settings, "BACKUP_DIR", "") or Path(settings.BASE_DIR) / "var" / "backups"),
            help="Where the backup directory is created (default: BACKUP_DIR, or var/backups).",
        )

    def handle(self, *args, output_dir: str, **options) -> None:
        try:
            result = backup_create(output_dir=Path(output_dir))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        counts = ", ".join(f"{v} {k}" for k, v in result.manifest["counts"].items())
        media = result.manifest["media"]
        self.stderr.write(f"Backed up {counts}; {media['files']} stored files ({media['bytes']} bytes).")
        self.stdout.write(str(result.path))
