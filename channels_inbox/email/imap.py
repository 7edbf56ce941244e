"""Fetching a mailbox's new mail over IMAP, one mailbox per call, never twice.

For each message with a UID above the highest one imported (under the folder's current
UIDVALIDITY): fetch it without setting \\Seen (BODY.PEEK), store it raw, process it through
the adapter into the ingest service, then mark it seen or move it, then remember its UID.
If the server renumbers the folder (UIDVALIDITY changes), the folder is read again from the
start; the raw store's (channel, Message-ID) key keeps everything from being stored twice.

A connection or login failure is recorded on the mailbox in words and the next round tries
again. A lock in the cache keeps two workers from polling one mailbox at the same time.
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

from tickets.models import RawInboundStatus
from tickets.services.ingest import raw_inbound_store

from ..models import AfterImport, Mailbox
from ..services import raw_inbound_process
from .adapter import email_external_id, max_message_bytes, register_email_adapter
from .credentials import CredentialUnreadable
from .mailboxes import mailbox_poll_recorded

logger = logging.getLogger(__name__)

_DONE = (RawInboundStatus.PROCESSED, RawInboundStatus.DUPLICATE, RawInboundStatus.IGNORED)


class MailboxUnreachable(Exception):
    """Connecting, logging in or opening the folder failed; the message says how, in words."""


@dataclass
class PollResult:
    mailbox_id: int
    skipped: str = ""  # why nothing was done (locked, inactive, no IMAP host)
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    failed: int = 0
    error: str = ""
    uids: list[int] = field(default_factory=list)


def poll_lock_seconds() -> int:
    return int(getattr(settings, "HELPDESK_IMAP_POLL_LOCK_SECONDS", 600))


def poll_batch_size() -> int:
    return int(getattr(settings, "HELPDESK_IMAP_BATCH_SIZE", 200))


def imap_timeout() -> int:
    return int(getattr(settings, "HELPDESK_IMAP_TIMEOUT", 60))


@contextmanager
def mailbox_poll_lock(mailbox_id: int):
    """Yields True when this caller holds the mailbox's poll lock. cache.add is atomic on Redis
    (and in-process caches); the timeout frees the lock if a worker dies while holding it."""
    key = f"helpdesk:email-poll-lock:{mailbox_id}"
    token = uuid.uuid4().hex
    acquired = cache.add(key, token, timeout=poll_lock_seconds())
    try:
        yield acquired
    finally:
        if acquired and cache.get(key) == token:
            cache.delete(key)


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _readable(exc: BaseException) -> str:
    if isinstance(exc, imaplib.IMAP4.error) and exc.args:
        value = exc.args[0]
        return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    return str(exc) or exc.__class__.__name__


def _connect(mailbox: Mailbox) -> imaplib.IMAP4:
    where = f"{mailbox.imap_host}:{mailbox.imap_port}"
    try:
        password = mailbox.imap_password
    except CredentialUnreadable as exc:
        raise MailboxUnreachable(str(exc)) from exc
    try:
        if mailbox.imap_ssl:
            imap = imaplib.IMAP4_SSL(
                mailbox.imap_host, mailbox.imap_port, ssl_context=ssl.create_default_context(), timeout=imap_timeout()
            )
        else:
            imap = imaplib.IMAP4(mailbox.imap_host, mailbox.imap_port, timeout=imap_timeout())
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxUnreachable(f"Could not connect to the IMAP server {where}: {_readable(exc)}") from exc
    try:
        imap.login(mailbox.imap_username or mailbox.address, password)
    except (OSError, imaplib.IMAP4.error) as exc:
        _logout(imap)
        raise MailboxUnreachable(
            f"Login to {where} as {mailbox.imap_username or mailbox.address} failed: {_readable(exc)}"
        ) from exc
    try:
        status, data = imap.select(_quote(mailbox.imap_folder or "INBOX"))
    except (OSError, imaplib.IMAP4.error) as exc:
        _logout(imap)
        raise MailboxUnreachable(f"Could not open the folder {mailbox.imap_folder!r}: {_readable(exc)}") from exc
    if status != "OK":
        _logout(imap)
        detail = data[0].decode(errors="replace") if data and isinstance(data[0], bytes) else data
        raise MailboxUnreachable(f"Could not open the folder {mailbox.imap_folder!r} on {where}: {detail}")
    return imap


def _logout(imap: imaplib.IMAP4) -> None:
    try:
        imap.logout()
    except (OSError, imaplib.IMAP4.error):
        pass


def _uid_validity(imap: imaplib.IMAP4) -> int | None:
    _name, values = imap.response("UIDVALIDITY")
    for value in values or []:
        if value and str(value, "ascii", "replace").strip().isdigit():
            return int(value)
    return None


def _new_uids(imap: imaplib.IMAP4, after: int) -> list[int]:
    status, data = imap.uid("SEARCH", None, "UID", f"{after + 1}:*")
    if status != "OK":
        raise MailboxUnreachable(f"The IMAP server refused to list new messages: {data!r}")
    uids = sorted({int(x) for x in b" ".join(d for d in data if d).split() if x.isdigit()})
    # "n:*" always includes the highest UID, even when it is below n.
    return [uid for uid in uids if uid > after]


_SIZE_RE = re.compile(rb"RFC822\.SIZE (\d+)")


def _fetch(imap: imaplib.IMAP4, uid: int, limit: int) -> tuple[bytes | None, int]:
    """The raw bytes of one message and the size the server reports for it; at most limit + 1
    bytes so an enormous message is kept cut (the parser then says so, with its real size)
    instead of exhausting memory. None when it is gone."""
    status, data = imap.uid("FETCH", str(uid), "(RFC822.SIZE)")
    size = 0
    for item in data or []:
        line = item[0] if isinstance(item, tuple) else item
        match = _SIZE_RE.search(line or b"")
        if match:
            size = int(match.group(1))
    section = "BODY.PEEK[]" if size <= limit else f"BODY.PEEK[]<0.{limit + 1}>"
    status, data = imap.uid("FETCH", str(uid), f"({section})")
    if status != "OK":
        raise MailboxUnreachable(f"The IMAP server refused to send message UID {uid}: {data!r}")
    for item in data or []:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1], size
    return None, size


def _after_import(imap: imaplib.IMAP4, mailbox: Mailbox, uid: int, can_move: bool) -> None:
    if mailbox.after_import == AfterImport.MOVE and mailbox.after_import_folder:
        folder = _quote(mailbox.after_import_folder)
        if can_move:
            status, data = imap.uid("MOVE", str(uid), folder)
            if status != "OK" and b"TRYCREATE" in b" ".join(d for d in data if isinstance(d, bytes)):
                imap.create(folder)
                status, data = imap.uid("MOVE", str(uid), folder)
        else:
            status, data = imap.uid("COPY", str(uid), folder)
            if status != "OK":
                imap.create(folder)
                status, data = imap.uid("COPY", str(uid), folder)
            if status == "OK":
                imap.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted \Seen)")
                imap.expunge()
        if status == "OK":
            return
        logger.warning("Could not move UID %s of %s to %s: %r; marking it read", uid, mailbox, folder, data)
    imap.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Seen)")


def _capabilities(imap: imaplib.IMAP4) -> set[str]:
    try:
        status, data = imap.capability()
    except (OSError, imaplib.IMAP4.error):
        return set(imap.capabilities)
    if status != "OK" or not data:
        return set(imap.capabilities)
    return {c.upper() for c in data[0].decode(errors="replace").split()}


def mailbox_poll(*, mailbox_id: int) -> PollResult:
    """Import one mailbox's new mail (see the module docstring). Safe to call concurrently:
    a second caller finds the lock taken and does nothing."""
    result = PollResult(mailbox_id=mailbox_id)
    with mailbox_poll_lock(mailbox_id) as acquired:
        if not acquired:
            result.skipped = "another worker is polling this mailbox"
            return result
        mailbox = Mailbox.objects.filter(pk=mailbox_id).first()
        if mailbox is None or not mailbox.is_active or not mailbox.imap_host:
            result.skipped = "mailbox missing, inactive or without IMAP"
            return result
        register_email_adapter()
        try:
            _poll(mailbox, result)
        except MailboxUnreachable as exc:
            result.error = str(exc)
        except (OSError, imaplib.IMAP4.error) as exc:
            result.error = f"The IMAP connection to {mailbox.imap_host}:{mailbox.imap_port} failed: {_readable(exc)}"
        if result.error:
            logger.warning("Polling %s: %s", mailbox.address, result.error)
        mailbox_poll_recorded(mailbox_id=mailbox.pk, error=result.error)
    return result


def _poll(mailbox: Mailbox, result: PollResult) -> None:
    imap = _connect(mailbox)
    try:
        validity = _uid_validity(imap)
        last_uid = mailbox.imap_last_uid
        if validity is not None and validity != mailbox.imap_uid_validity:
            if mailbox.imap_uid_validity is not None:
                logger.info("UIDVALIDITY of %s changed; reading the folder again", mailbox.address)
            last_uid = 0
            Mailbox.objects.filter(pk=mailbox.pk).update(imap_uid_validity=validity, imap_last_uid=0)
        can_move = "MOVE" in _capabilities(imap)
        limit = max_message_bytes()
        for uid in _new_uids(imap, last_uid)[: poll_batch_size()]:
            payload, size = _fetch(imap, uid, limit)
            if payload is not None:
                result.fetched += 1
                _store_and_process(mailbox, uid, validity, payload, result, size=size)
            _after_import(imap, mailbox, uid, can_move)
            # Remembered per message: a crash mid-batch refetches at most one message, and the
            # raw store would recognise that one anyway.
            Mailbox.objects.filter(pk=mailbox.pk).update(imap_last_uid=uid)
            result.uids.append(uid)
    finally:
        _logout(imap)


def _store_and_process(
    mailbox: Mailbox, uid: int, validity: int | None, payload: bytes, result: PollResult, *, size: int = 0
) -> None:
    raw, created = raw_inbound_store(
        channel="email",
        payload=payload,
        external_id=email_external_id(payload),
        content_type="message/rfc822",
        meta={"source": "imap", "mailbox_id": mailbox.pk, "uid": uid, "uid_validity": validity, "size": size},
    )
    if not created and raw.status in _DONE:
        result.duplicates += 1
        return
    result.stored += int(created)
    raw_inbound_process(raw_id=raw.pk)
    raw.refresh_from_db(fields=["status"])
    if raw.status == RawInboundStatus.FAILED:
        # Kept raw with the reason; replayable once fixed (manage.py inbound_replay).
        result.failed += 1
