"""Compile locale/*/LC_MESSAGES/*.po into .mo files without needing GNU gettext installed."""

from __future__ import annotations

from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Compile the translation catalogues (.po -> .mo) with polib; no gettext tools needed."

    def handle(self, *args, **options) -> None:
        compiled = 0
        for base in settings.LOCALE_PATHS:
            for po_path in sorted(Path(base).glob("*/LC_MESSAGES/*.po")):
                catalogue = polib.pofile(str(po_path))
                catalogue.save_as_mofile(str(po_path.with_suffix(".mo")))
                compiled += 1
                self.stdout.write(
                    f"{po_path.relative_to(settings.BASE_DIR)}: {catalogue.percent_translated()}% translated"
                )
        self.stdout.write(self.style.SUCCESS(f"Compiled {compiled} catalogue(s)."))
