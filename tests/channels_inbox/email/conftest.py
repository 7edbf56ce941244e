"""Fixtures for the email channel: the shared corpus (read in place, never copied), the
email adapter registered for the test only, and real mail servers (Dovecot IMAP, aiosmtpd)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from channels_inbox import registry
from channels_inbox.email.acknowledgement import connect_email_signals
from channels_inbox.email.adapter import EmailAdapter
from channels_inbox.models import Mailbox

from .mail_servers import IMAP_PASSWORD, DovecotServer, SmtpRecorder, dovecot_binary, free_port

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


# --- Real mail servers, mailboxes and the email channel's signal receivers -------------------


@pytest.fixture(scope="session")
def dovecot():
    """A throwaway Dovecot IMAP server for the session; each test logs in as its own user."""
    if dovecot_binary() is None:
        pytest.skip("the dovecot binary is not installed (Debian package dovecot-imapd; make test installs it)")
    server = DovecotServer().start()
    yield server
    server.stop()


@pytest.fixture
def imap_user(dovecot) -> str:
    return f"desk-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def smtp_server():
    """aiosmtpd on a loopback port; `.received` holds the raw bytes of every accepted message."""
    from aiosmtpd.controller import Controller

    recorder = SmtpRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    recorder.port = controller.port
    yield recorder
    controller.stop()


@pytest.fixture
def email_signals():
    """The app connects these at start-up; make sure they are, and leave them connected."""
    connect_email_signals()
    yield


@pytest.fixture
def unique() -> str:
    """A suffix for addresses, so per-address limits in the (shared) cache never carry over."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def make_mailbox(email_adapter):
    def make(*, address: str = "support@helpdesk.test", dovecot=None, user: str = "", smtp=None, **fields) -> Mailbox:
        mailbox = Mailbox(address=address, display_name=fields.pop("display_name", "Acme Support"), **fields)
        if dovecot is not None:
            mailbox.imap_host, mailbox.imap_port, mailbox.imap_ssl = "127.0.0.1", dovecot.port, False
            mailbox.imap_username = user
            mailbox.imap_password = IMAP_PASSWORD
        if smtp is not None:
            mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_starttls = "127.0.0.1", smtp.port, False
        mailbox.save()
        return mailbox

    return make
