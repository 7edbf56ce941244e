"""Fixtures for the email channel: the shared corpus (read in place, never copied) and the
email adapter registered for the test only."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels_inbox import registry
from channels_inbox.email.adapter import EmailAdapter

CORPORA = (Path(__file__).resolve().parents[3] / ".." / "shared" / "corpora").resolve()
EMAIL_CORPUS = CORPORA / "email"


def corpus_dir(*parts: str) -> Path:
    """A corpus folder, or a clean skip when this checkout has no shared corpora beside it."""
    folder = EMAIL_CORPUS.joinpath(*parts)
    if not folder.is_dir():
        pytest.skip(f"shared email corpus not present at {folder}")
    return folder


def corpus_files() -> list[Path]:
    if not EMAIL_CORPUS.is_dir():
        return []
    return sorted(
        p
        for p in EMAIL_CORPUS.rglob("*")
        if p.is_file() and p.suffix in (".eml", ".txt") and "crisp_email_reply_parser" not in p.parts
    )


@pytest.fixture
def email_adapter():
    existing = registry.registered().get("email")
    if existing is not None:
        yield existing
        return
    adapter = registry.register(EmailAdapter())
    yield adapter
    registry.unregister("email")
