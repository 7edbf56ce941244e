"""Reading one raw message from a file or standard input, for the management commands."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import CommandError


def raw_message_read(source: str, *, max_bytes: int) -> bytes:
    """The bytes of FILE, or of standard input for "-". Reads at most max_bytes + 1 bytes so an
    endless stream cannot exhaust memory; the parser reports anything over the limit."""
    try:
        if source == "-":
            data = sys.stdin.buffer.read(max_bytes + 1)
        else:
            path = Path(source)
            if path.is_dir():
                raise CommandError(f"Cannot read {source}: it is a directory, not a message file.")
            with path.open("rb") as handle:
                data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise CommandError(f"Cannot read {source}: {exc.strerror or exc}.") from exc
    if not data.strip():
        raise CommandError(f"{'Standard input' if source == '-' else source} is empty: there is no message to read.")
    return data
