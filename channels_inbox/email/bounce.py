"""Recognising bounces: RFC 3464 delivery status notifications and the many non-standard
"your message could not be delivered" notices MTAs send instead.

    info = bounce_detect(msg, headers_from="mailer-daemon@example.com", subject="...")
    info.recipients        # [BounceRecipient(address, temporary, status, diagnostic)]
    info.original_message_id   # "<id@host>" of the message that bounced, when it came back
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

MAX_NOTICE_CHARS = 64 * 1024


@dataclass(frozen=True)
class BounceRecipient:
    address: str
    temporary: bool
    status: str = ""
    diagnostic: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "temporary": self.temporary,
            "status": self.status,
            "diagnostic": self.diagnostic,
        }


@dataclass(frozen=True)
class BounceInfo:
    recipients: list[BounceRecipient] = field(default_factory=list)
    original_message_id: str = ""
    kind: str = ""  # "dsn" (RFC 3464) or "notice" (non-standard)

    @property
    def temporary(self) -> bool:
        """Only delays: the MTA is still trying."""
        return bool(self.recipients) and all(r.temporary for r in self.recipients)

    def summary(self) -> str:
        parts = []
        for r in self.recipients:
            line = f"{r.address}: {r.status or ('delayed' if r.temporary else 'failed')}"
            if r.diagnostic:
                line += f" ({r.diagnostic})"
            parts.append(line)
        return "; ".join(parts) or "Delivery failed."

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "original_message_id": self.original_message_id or None,
            "recipients": [r.as_dict() for r in self.recipients],
        }


_VALID_ADDRESS_RE = re.compile(
    r"^(?=.{3,254}$)[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
    re.IGNORECASE,
)
_ADDRESS_IN_TEXT_RE = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\b", re.IGNORECASE
)
_DAEMON_LOCALS = re.compile(
    r"^(?:mailer-daemon|mailer_daemon|maildaemon|mail-daemon|postmaster|mailerdaemon|mail\.delivery|"
    r"mail-delivery|mmdf|smtp|nobody|root|mailadmin|bounce[s]?|noreply|no-reply|daemon)$",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT_RE = re.compile(
    r"undeliver|undelivered|not (?:be )?delivered"
    r"|delivery (?:status notification|failure|failed|has failed|notification"
    r"|problem|report)|returned mail|failure notice|mail delivery failed|delivery status|nondeliverable"
    r"|non[- ]?delivery|could not send|delayed|warning: message|mail system error|rejected|returned to sender"
    r"|failed delivery|failure delivery|unable to deliver|delivery error|message status|bounce|delivery warning"
    r"|user unknown|unknown user|\bwarning\b",
    re.IGNORECASE,
)
# Where the copy of the returned message starts in a notice.
_ORIGINAL_MARKERS = re.compile(
    r"^\s*(?:-+\s*)?(?:"
    r"this is a copy of the message|below this line is a copy|original message follows|original message"
    r"|unsent message below|returned message|message (?:text|headers) follows"
    r"|start of returned message|here is a copy|rejected message|text of the message follows|the message you sent"
    r"|headers of your message|your message reads"
    r"|copy of (?:the|your) (?:original )?message|--- original|undelivered message"
    r"|the text you sent follows|included is (?:a copy|the original)|here is your original message"
    r")",
    re.IGNORECASE | re.MULTILINE,
)
_TEMPORARY_RE = re.compile(
    r"not yet been delivered|has not been delivered yet|delivery attempts will continue|will (?:continue|keep) trying"
    r"|continue to try|still trying|will (?:be )?retr(?:y|ied)|retrying|\bdelayed\b|postponed|try again later"
    r"|deferred|no need to resend|you do not need to resend|do not resend",
    re.IGNORECASE,
)
_WEAK_TEMPORARY_RE = re.compile(r"\bwarning\b|temporar(?:y|ily)", re.IGNORECASE)
_PERMANENT_RE = re.compile(
    r"permanent(?:ly)? (?:error|failure|fatal)|not going to try again|i've given up|i have given up|giving up|gave up"
    r"|fatal error|permanent fatal|failed permanently|delivery failure notification|occurred after \d+ attempt",
    re.IGNORECASE,
)
_WEAK_PERMANENT_RE = re.compile(
    r"could not be delivered|couldn't be delivered|undeliverable|user unknown|no such user|unknown user"
    r"|does not exist|mailbox unavailable|unrouteable|\b5\.\d{1,3}\.\d{1,3}\b|\b55\d\b",
    re.IGNORECASE,
)
# Lines that say what failed; an address on one of them is surely a failed recipient.
_FAILURE_LINE_RE = re.compile(
    r"did not|could not|couldn't|undeliverable|unknown|no such|not delivered|failed|rejected|\b5\d\d\b"
    r"|\b[45]\.\d{1,3}\.\d{1,3}\b|does not exist|unable to deliver|not found|refused|not reach|invalid",
    re.IGNORECASE,
)
_IGNORED_CONTEXT_RE = re.compile(
    r"please contact|postmaster|reporting-mta|received:|message-id|^\s*x-[\w-]+:|return-path|from:|^\s*to:|^\s*cc:"
    r"|^\s*subject:|sender:|reply-to"
    r"|errors-to|the original message was sent by|was sent by|for assistance|this report relates|sent to you by",
    re.IGNORECASE,
)


def _address_valid(value: str) -> str:
    value = (value or "").strip().strip("<>").strip().strip(".,;:'\"()[]").strip("<>")
    value = re.sub(r"^(?:smtp|rfc822)[=:;]", "", value, flags=re.IGNORECASE)
    return value if _VALID_ADDRESS_RE.match(value) else ""


def _text(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        payload = None
    if payload is None:
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    from .parser import bytes_decode

    try:
        charset = part.get_content_charset()
    except Exception:  # noqa: BLE001
        charset = None
    return bytes_decode(payload[: MAX_NOTICE_CHARS * 4], charset)


def _ctype(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:  # noqa: BLE001
        return "text/plain"


def _parts(msg: Message) -> list[Message]:
    """Every part of the notice itself, not descending into returned messages."""
    found: list[Message] = []
    stack = [msg]
    while stack and len(found) < 200:
        part = stack.pop(0)
        found.append(part)
        if _ctype(part) in ("message/rfc822", "message/global", "message/delivery-status", "text/rfc822-headers"):
            continue
        if part.is_multipart():
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend(child for child in children if isinstance(child, Message))
    return found


def _status_blocks(part: Message) -> list[dict[str, str]]:
    """The per-message and per-recipient field groups of a message/delivery-status part."""
    blocks: list[dict[str, str]] = []
    payload = part.get_payload()
    if isinstance(payload, list) and payload and all(isinstance(p, Message) for p in payload):
        for block in payload:
            fields: dict[str, str] = {}
            try:
                items = block.raw_items()
                for name, value in items:
                    fields.setdefault(name.lower(), re.sub(r"\s+", " ", str(value)).strip())
            except Exception:  # noqa: BLE001
                continue
            blocks.append(fields)
        # Some MTAs put everything in one block; the parser may then have only the first.
        if len(blocks) > 1 or any("action" in b for b in blocks):
            return blocks
    text = _text(part) if not isinstance(payload, list) else "\n\n".join(_block_text(b) for b in payload)
    current: dict[str, str] = {}
    last = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        if line[:1] in " \t" and last:
            current[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if sep:
            last = name.strip().lower()
            if last in current and last in ("final-recipient", "original-recipient"):
                blocks.append(current)
                current = {}
            current[last] = value.strip()
    if current:
        blocks.append(current)
    return blocks


def _block_text(block: Any) -> str:
    if isinstance(block, Message):
        try:
            return "\n".join(f"{k}: {v}" for k, v in block.raw_items())
        except Exception:  # noqa: BLE001
            return ""
    return str(block)


def _dsn_recipients(part: Message) -> list[BounceRecipient]:
    recipients: list[BounceRecipient] = []
    for block in _status_blocks(part):
        if not ({"final-recipient", "original-recipient"} & block.keys()):
            continue
        action = block.get("action", "").lower().split()[0] if block.get("action") else ""
        status = block.get("status", "").split()[0] if block.get("status") else ""
        if action in ("delivered", "relayed", "expanded"):
            continue
        if action == "failed":
            temporary = False
        elif action == "delayed":
            temporary = True
        elif status.startswith("4"):
            temporary = True
        elif status.startswith("5") or not action:
            temporary = False
        else:
            continue
        address = ""
        for key in ("original-recipient", "final-recipient"):
            raw = block.get(key, "")
            address = _address_valid(raw.split(";", 1)[-1])
            if address:
                break
        if not address:
            continue
        diagnostic = block.get("diagnostic-code", "").split(";", 1)[-1].strip()[:500]
        if address.lower() not in {r.address.lower() for r in recipients}:
            recipients.append(BounceRecipient(address, temporary, status, diagnostic))
    return recipients


def _original_message_id(parts: list[Message], notice_text: str) -> str:
    from .parser import message_id_normalise

    for part in parts:
        ctype = _ctype(part)
        if ctype in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message):
                value = inner.get("Message-ID", "")
                if value:
                    return message_id_normalise(str(value))
        if ctype == "text/rfc822-headers":
            headers = email.message_from_string(_text(part), policy=email.policy.compat32)
            value = headers.get("Message-ID", "")
            if value:
                return message_id_normalise(str(value))
    marker = _ORIGINAL_MARKERS.search(notice_text)
    tail = notice_text[marker.start() :] if marker else notice_text
    found = re.search(r"^\s*Message-ID:\s*(<[^>\s]+>)", tail, re.IGNORECASE | re.MULTILINE)
    return message_id_normalise(found.group(1)) if found and marker else ""


def _looks_like_notice(sender: str, subject: str, msg: Message) -> bool:
    local = sender.partition("@")[0] if sender else ""
    if local and _DAEMON_LOCALS.match(local):
        return True
    from_header = str(msg.get("From", "") or "")
    if re.search(r"mail delivery|mailer-daemon|postmaster|mail system|delivery subsystem", from_header, re.I):
        return True
    if msg.get("X-Failed-Recipients"):
        return True
    return bool(_BOUNCE_SUBJECT_RE.search(subject or ""))


def _notice_text(parts: list[Message]) -> str:
    texts = []
    for part in parts:
        ctype = _ctype(part)
        if ctype == "text/plain":
            texts.append(_text(part))
        elif ctype == "text/html" and not texts:
            from tickets.html import html_to_text, sanitize_html

            texts.append(html_to_text(sanitize_html(_text(part))))
    return "\n".join(texts)[:MAX_NOTICE_CHARS]


def _notice_recipients(text: str, exclude: set[str], msg: Message, sender: str) -> list[BounceRecipient]:
    """Failed addresses in a free-text notice: the addresses it names before the returned copy,
    leaving out the notice's own correspondents and administrative addresses."""
    marker = _ORIGINAL_MARKERS.search(text)
    head = text[: marker.start()] if marker else text
    subject = str(msg.get("Subject", ""))
    if _PERMANENT_RE.search(head):
        temporary = False
    elif _TEMPORARY_RE.search(head) or _TEMPORARY_RE.search(subject):
        temporary = True
    else:
        weak_temporary = _WEAK_TEMPORARY_RE.search(head) or _WEAK_TEMPORARY_RE.search(subject)
        temporary = bool(weak_temporary) and not _WEAK_PERMANENT_RE.search(head + "\n" + subject)
    found: list[BounceRecipient] = []
    seen: set[str] = set()
    for header in msg.get_all("X-Failed-Recipients") or []:
        for candidate in re.split(r"[\s,]+", str(header)):
            address = _address_valid(candidate)
            if address and address.lower() not in seen:
                seen.add(address.lower())
                found.append(BounceRecipient(address, temporary))
    if found:
        return found
    for allow_headers in (False, True):
        strong, weak = _addresses_in(head, exclude, allow_headers=allow_headers)
        chosen = strong or weak
        if chosen:
            return [
                BounceRecipient(address, temporary, _status_in(line), line.strip()[:300]) for address, line in chosen
            ]
    # "Your mail to the following recipients could not be delivered:\n\tscreenname" (AOL-style
    # bare names): the name at the notice's own domain.
    domain = sender.partition("@")[2].lower()
    lines = head.split("\n")
    for i, line in enumerate(lines):
        if domain and re.search(r"following (?:recipient|address|user)", line, re.IGNORECASE):
            for follow in lines[i + 1 : i + 6]:
                bare = re.fullmatch(r"\s+([a-z0-9][a-z0-9._-]{0,63})\s*", follow, re.IGNORECASE)
                if bare:
                    address = _address_valid(f"{bare.group(1)}@{domain}")
                    if address:
                        found.append(BounceRecipient(address, temporary, "", line.strip()[:300]))
            break
    return found


def _status_in(line: str) -> str:
    code = re.search(r"\b[45]\.\d{1,3}\.\d{1,3}\b", line)
    return code.group(0) if code else ""


def _addresses_in(
    head: str, exclude: set[str], *, allow_headers: bool
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(addresses on lines that say something failed or stand alone, addresses elsewhere)."""
    strong: list[tuple[str, str]] = []
    weak: list[tuple[str, str]] = []
    seen: set[str] = set()
    for line in head.split("\n"):
        if _IGNORED_CONTEXT_RE.search(line) and not (allow_headers and re.match(r"^\s*(?:to|cc):", line, re.I)):
            continue
        for match in _ADDRESS_IN_TEXT_RE.finditer(line):
            before = line[max(0, match.start() - 7) : match.start()].lower()
            before = line[max(0, match.start() - 16) : match.start()].lower()
            if re.search(r"from[\s:<]*$", before) and not re.search(r"(?:generated|expanded) from[\s:<]*$", before):
                continue  # "not accepting mail from list@example.com"
            address = _address_valid(match.group(0))
            if not address:
                continue
            key = address.lower()
            if key in seen or key in exclude or _DAEMON_LOCALS.match(key.partition("@")[0]):
                continue
            seen.add(key)
            alone = re.fullmatch(r"[\s<>\"'():;,.]*" + re.escape(match.group(0)) + r"[\s<>\"'():;,.]*", line)
            if alone or _FAILURE_LINE_RE.search(line):
                strong.append((address, line))
            else:
                weak.append((address, line))
    return strong, weak


def bounce_detect(msg: Message, *, headers_from: str = "", subject: str = "", _depth: int = 0) -> BounceInfo | None:
    """A BounceInfo when the message is a delivery failure or delay report, else None."""
    parts = _parts(msg)
    status_parts = [p for p in parts if _ctype(p) == "message/delivery-status"]
    notice_text = _notice_text(parts)
    if status_parts:
        recipients: list[BounceRecipient] = []
        for part in status_parts:
            try:
                recipients.extend(_dsn_recipients(part))
            except Exception:  # noqa: BLE001 - a broken report is still a report
                continue
        if recipients:
            return BounceInfo(recipients, _original_message_id(parts, notice_text), "dsn")
    if _depth == 0:
        # A report forwarded whole, as a message/rfc822 attachment of another notice.
        for part in parts:
            if _ctype(part) == "message/rfc822" and isinstance(part.get_payload(), list) and part.get_payload():
                inner = part.get_payload()[0]
                if isinstance(inner, Message) and _ctype(inner) == "multipart/report":
                    nested = bounce_detect(inner, headers_from=headers_from, subject=subject, _depth=1)
                    if nested is not None:
                        return nested
    if not status_parts and not _looks_like_notice(headers_from, subject, msg):
        return None
    exclude = {headers_from.lower()} if headers_from else set()
    for name in ("To", "Cc", "Sender", "Return-Path"):
        for value in msg.get_all(name) or []:
            for match in _ADDRESS_IN_TEXT_RE.finditer(str(value)):
                exclude.add(match.group(0).lower())
    recipients = _notice_recipients(notice_text, exclude, msg, headers_from)
    if not recipients:
        return None
    return BounceInfo(recipients, _original_message_id(parts, notice_text), "notice")
