"""python manage.py restore BACKUP_DIR: into an empty database and an empty MEDIA_ROOT."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ops.backup import BackupError, backup_restore, backup_verify


class Command(BaseCommand):
    help = (
        "Restore a backup made by `manage.py backup` into the database of DATABASE_URL (which must "
        "be empty: create it first) and MEDIA_ROOT (which must hold no files). Checks the checksums "
        "first and the row counts afterwards."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="The helpdesk-backup-... directory.")
        parser.add_argument("--check", action="store_true", help="Only verify the backup's checksums.")

    def handle(self, *args, path: str, check: bool, **options) -> None:
        try:
            if check:
                manifest = backup_verify(Path(path))
                self.stdout.write(f"The backup of {manifest['created_at']} is complete and undamaged.")
                return
            manifest = backup_restore(path=Path(path))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        counts = ", ".join(f"{v} {k}" for k, v in manifest["counts"].items())
        self.stdout.write(
            f"Restored the backup of {manifest['created_at']}: {counts}; {manifest['media']['files']} stored files."
        )
