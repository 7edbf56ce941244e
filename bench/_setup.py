"""Shared set-up: Django against a scratch database named by BENCH_DATABASE_URL."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def django_setup() -> None:
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        sys.exit(
            "Set BENCH_DATABASE_URL to a scratch database the benchmark may fill, e.g.\n"
            "  createdb -h 127.0.0.1 -U postgres bench\n"
            "  BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench python bench/ingest.py"
        )
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    # As the web entry points do (helpdesk/asgi.py, wsgi.py).
    from helpdesk.runtime import gc_freeze_startup

    gc_freeze_startup()
