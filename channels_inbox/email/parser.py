"""Reading one raw RFC 5322 message into plain values, whatever state it arrives in.

    parsed = email_parse(raw_bytes)

Outlook's winmail.dat (TNEF, read with tnefparse) gives up its files as attachments and its
body when the email has none of its own; an unreadable one is kept as it came.

Never raises on bad input: wrong or unknown charsets fall back (declared charset, then UTF-8,
then Windows-1252 with replacement), broken MIME is read as far as it goes, and whatever the
standard library reports as a defect is kept in `parsed.defects`.

Message ids are normalised to their angle-bracketed form, "<id@host>", everywhere (Message-ID,
In-Reply-To, References): that is the form an outbound message's external_id must use too.
"""

from __future__ import annotations

import binascii
import email
import email.header
import email.policy
import email.utils
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from typing import Any

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from tickets.html import html_to_text, sanitize_html

from .bounce import BounceInfo, bounce_detect
from .reply import reply_text as _reply_text


class _ParsePolicy(email.policy.EmailPolicy):
    """`email.policy.default`, remembering each parsed header. The parser and the bounce
    detector ask a part for its Content-Type, parameters, disposition and filename many times,
    and the standard policy parses the header again on every ask (most of the parse time).
    Parsed headers are immutable, so handing out the same one again changes nothing."""

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if hasattr(value, "name") or len(value) > _HEADER_CACHE_VALUE_CHARS:
            return super().header_fetch_parse(name, value)
        key = (name, value)
        parsed = _HEADER_CACHE.get(key)
        if parsed is None:
            parsed = super().header_fetch_parse(name, value)
            if len(_HEADER_CACHE) >= _HEADER_CACHE_SIZE:
                _HEADER_CACHE.clear()
            _HEADER_CACHE[key] = parsed
        return parsed


_HEADER_CACHE: dict[tuple[str, str], Any] = {}
_HEADER_CACHE_SIZE = 2048
_HEADER_CACHE_VALUE_CHARS = 2000  # at most ~4 MiB of remembered headers per process
PARSE_POLICY = _ParsePolicy()

# Without settings (e.g. the parser used on its own) these defaults apply.
DEFAULT_MAX_MESSAGE_BYTES = 50 * 1024 * 1024
MAX_PARTS = 1000
MAX_DEPTH = 30
MAX_HEADER_CHARS = 16 * 1024
MAX_ADDRESSES = 500


@dataclass(frozen=True)
class EmailAddress:
    name: str
    address: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "email": self.address}


@dataclass(frozen=True)
class EmailAttachment:
    filename: str
    content_type: str
    payload: bytes
    inline: bool = False
    content_id: str = ""

    @property
    def size(self) -> int:
        return len(self.payload)


@dataclass
class ParsedEmail:
    from_: EmailAddress | None = None
    to: list[EmailAddress] = field(default_factory=list)
    cc: list[EmailAddress] = field(default_factory=list)
    reply_to: list[EmailAddress] = field(default_factory=list)
    delivered_to: list[EmailAddress] = field(default_factory=list)
    subject: str = ""
    date: datetime | None = None
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    body_text: str = ""
    body_html: str = ""
    reply_text: str = ""
    attachments: list[EmailAttachment] = field(default_factory=list)
    is_auto_reply: bool = False
    auto_reply_reason: str = ""
    is_bounce: bool = False
    bounce: BounceInfo | None = None
    ticket_number: int | None = None
    truncated: str = ""
    # Set when the message was over the size limit: its real size and the limit, in bytes.
    size_bytes: int = 0
    size_limit: int = 0
    defects: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The shape `parse_email --json` prints (the public contract, plus a few extras)."""
        return {
            "from": self.from_.as_dict() if self.from_ else None,
            "to": [a.as_dict() for a in self.to],
            "cc": [a.as_dict() for a in self.cc],
            "reply_to": [a.as_dict() for a in self.reply_to],
            "subject": self.subject,
            "date": self.date.isoformat() if self.date else None,
            "message_id": self.message_id or None,
            "in_reply_to": list(self.in_reply_to),
            "references": list(self.references),
            "body_text": self.body_text,
            "body_html": self.body_html,
            "attachments": [
                {
                    "filename": a.filename,
                    "content_type": a.content_type,
                    "size": a.size,
                    "inline": a.inline,
                    "content_id": a.content_id or None,
                }
                for a in self.attachments
            ],
            "is_auto_reply": self.is_auto_reply,
            "is_bounce": self.is_bounce,
            # Extras beyond the contract's list:
            "reply_text": self.reply_text,
            "ticket_number": self.ticket_number,
            "bounce": self.bounce.as_dict() if self.bounce else None,
        }


# ---------------------------------------------------------------------------------------------
# Text decoding

_CHARSET_ALIASES = {
    "unknown-8bit": "windows-1252",
    "x-unknown": "windows-1252",
    "unknown": "windows-1252",
    "ansi_x3.110-1983": "latin-1",
    "iso-8859-8-i": "iso-8859-8",
    "ks_c_5601-1987": "cp949",
    "x-mac-roman": "mac_roman",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "utf8": "utf-8",
    "x-user-defined": "windows-1252",
    "windows-874": "cp874",
    "8bit": "windows-1252",
}


def _codec_for(charset: str | None) -> str | None:
    if not charset:
        return None
    name = str(charset).strip().strip("\"'").lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        import codecs

        return codecs.lookup(name).name
    except (LookupError, ValueError, TypeError):
        return None


def bytes_decode(data: bytes, charset: str | None = None) -> str:
    """Decode with the declared charset if it works, else UTF-8, else Windows-1252, never failing."""
    codec = _codec_for(charset)
    if codec and codec not in ("ascii", "us-ascii"):
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if codec:
        # The declared charset mostly fits: keep it, replacing the odd wrong byte.
        try:
            text = data.decode(codec, errors="replace")
            if codec not in ("ascii", "us-ascii") or text.count("\ufffd") == 0:
                return text
        except LookupError:
            pass
    # A declared UTF-8 with a few broken sequences reads best as UTF-8 with replacements.
    if codec == "utf-8":
        return data.decode("utf-8", errors="replace")
    return data.decode("windows-1252", errors="replace")


def _surrogates_fix(value: str) -> str:
    """Headers with raw 8-bit bytes come back with surrogate escapes: decode them properly."""
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        return bytes_decode(value.encode("utf-8", errors="surrogateescape"))
    return value


_ENCODED_WORD_GAP = re.compile(r"(\?=)\s+(=\?)")


def header_decode(value: str | None) -> str:
    """Decode RFC 2047 encoded words, tolerating unknown charsets and bad encodings."""
    if value is None:
        return ""
    value = _surrogates_fix(str(value))[:MAX_HEADER_CHARS]
    if "=?" not in value:
        return _unfold(value)
    try:
        chunks = email.header.decode_header(_ENCODED_WORD_GAP.sub(r"\1\2", value))
    except (ValueError, binascii.Error, AssertionError, IndexError):
        return _unfold(value)
    out = []
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            out.append(bytes_decode(chunk, charset or "ascii"))
        else:
            out.append(chunk)
    # decode_header drops the spaces between plain and encoded parts inconsistently.
    text = ""
    for i, piece in enumerate(out):
        if i and chunks[i - 1][1] is None and chunks[i][1] is not None and not text.endswith(" "):
            text += " " if not piece.startswith(" ") else ""
        elif i and chunks[i - 1][1] is not None and chunks[i][1] is None and piece and not piece.startswith(" "):
            text += " "
        text += piece
    return _unfold(text)


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n[ \t]*", " ", value).strip()


# ---------------------------------------------------------------------------------------------
# Headers


def _raw_headers(msg: Message) -> list[tuple[str, str]]:
    try:
        return [(name, str(value)) for name, value in msg.raw_items()]
    except Exception:  # noqa: BLE001 - a header we cannot even list must not stop the message
        return []


class _Headers:
    def __init__(self, msg: Message) -> None:
        self._items: dict[str, list[str]] = {}
        for name, value in _raw_headers(msg):
            self._items.setdefault(name.lower(), []).append(value)

    def all(self, name: str) -> list[str]:
        return self._items.get(name.lower(), [])

    def first(self, name: str) -> str:
        values = self.all(name)
        return values[0] if values else ""

    def decoded(self, name: str) -> str:
        return header_decode(self.first(name))

    def has(self, name: str) -> bool:
        return bool(self.all(name))


_ADDR_RE = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+$")


def addresses_parse(values: list[str]) -> list[EmailAddress]:
    """Parse address headers (encoded words decoded per display name), dropping unusable entries."""
    result: list[EmailAddress] = []
    seen: set[str] = set()
    raw = [_surrogates_fix(v)[:MAX_HEADER_CHARS] for v in values]
    try:
        pairs = email.utils.getaddresses(raw)
    except Exception:  # noqa: BLE001 - the stdlib address parser has had crashes on hostile input
        pairs = []
    for name, address in pairs[:MAX_ADDRESSES]:
        address = header_decode(address).strip().strip("<>").strip()
        if not address:
            continue
        if not _ADDR_RE.match(address):
            # "Name <addr>" with encoded words in odd places: try once more after decoding.
            found = re.search(r"[\w.+'&=-]+@[\w-]+(?:\.[\w-]+)+", header_decode(address))
            if not found:
                continue
            address = found.group(0)
        local, _at, domain = address.rpartition("@")
        address = f"{local}@{domain}".lower()
        if address in seen:
            continue
        seen.add(address)
        result.append(EmailAddress(name=header_decode(name).strip().strip('"').strip(), address=address))
    return result


_MSGID_RE = re.compile(r"<([^<>\s]+)>")


def message_id_normalise(value: str) -> str:
    """The "<id@host>" form of one message id, however it was spelt; "" when there is none."""
    ids = message_ids_parse(value)
    return ids[0] if ids else ""


def message_ids_parse(value: str) -> list[str]:
    """Every message id in an In-Reply-To / References / Message-ID value, as "<id@host>"."""
    value = _surrogates_fix(value or "")[:MAX_HEADER_CHARS]
    found = [f"<{m}>" for m in _MSGID_RE.findall(value)]
    if not found:
        found = [f"<{token.strip('<>')}>" for token in re.split(r"[\s,]+", value) if "@" in token.strip("<>")]
    result: list[str] = []
    for item in found:
        if item not in result and len(item) <= 500:
            result.append(item)
    return result


def _date_parse(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(header_decode(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


# ---------------------------------------------------------------------------------------------
# Auto-replies and ticket numbers

_AUTO_SUBJECT_RE = re.compile(
    r"^\s*(?:auto(?:matic)?[ -]?(?:reply|response|answer)|autoreply|out of (?:the )?office|ooo\b"
    r"|away from (?:the )?office"
    r"|on vacation|vacation (?:reply|response)|abwesenheitsnotiz|automatische antwort|r[ée]ponse automatique"
    r"|absence du bureau|risposta automatica|respuesta autom[áa]tica|resposta autom[áa]tica|fuera de la oficina"
    r"|automatisch antwoord|niet aanwezig|automatisk svar|frånvaro|fravær|autosvar|automaattinen vastaus"
    r"|automatyczna odpowied[źz]|автоответ|自动回复|自動応答)",
    re.IGNORECASE,
)
_SUPPRESS_VALUES = {"all", "oof", "autoreply", "dr", "rn", "nrn"}


def auto_reply_reason(headers: _Headers, subject: str) -> str:
    """Why this message looks automatic (RFC 3834 and the common non-standard signs); "" if not."""
    auto_submitted = headers.first("Auto-Submitted").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("Precedence", "X-Precedence"):
        precedence = headers.first(name).strip().lower()
        if precedence in ("bulk", "junk", "list", "auto_reply", "auto-reply"):
            return f"{name}: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Reply", "X-AutoReply-From"):
        value = headers.first(name).strip().lower()
        if headers.has(name) and value not in ("no", "false", "0"):
            return f"{name}: {value or 'present'}"
    suppress = {v.strip().lower() for v in headers.first("X-Auto-Response-Suppress").split(",")}
    if suppress & _SUPPRESS_VALUES:
        return "X-Auto-Response-Suppress"
    for name in ("List-Id", "List-Unsubscribe"):
        if headers.has(name):
            return name
    if headers.has("Return-Path") and headers.first("Return-Path").strip() in ("<>", ""):
        return "Return-Path: <>"
    if headers.first("X-MS-Exchange-Generated-Message-Source") or headers.first("X-MS-Exchange-Inbox-Rules-Loop"):
        return "Exchange generated"
    if _AUTO_SUBJECT_RE.search(subject):
        return "Subject looks automatic"
    return ""


_SUBJECT_TICKET_RE = re.compile(r"\[#\s*(\d{1,12})\s*\]")
_PLUS_TICKET_RE = re.compile(r"\+t(\d{1,12})@", re.IGNORECASE)


def ticket_number_hint(subject: str, recipients: list[EmailAddress]) -> int | None:
    """The ticket a message names: a plus-addressed reply address (support+t1234@...) wins over
    a subject token "[#1234]", which anyone could have copied."""
    for person in recipients:
        match = _PLUS_TICKET_RE.search(person.address)
        if match:
            return int(match.group(1))
    match = _SUBJECT_TICKET_RE.search(subject or "")
    return int(match.group(1)) if match else None


# ---------------------------------------------------------------------------------------------
# Body and attachments

_EXTRA_EXTENSIONS = {
    "application/pgp-signature": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "message/rfc822": ".eml",
    "message/delivery-status": ".txt",
    "text/rfc822-headers": ".txt",
    "application/ms-tnef": ".dat",
    "image/jpg": ".jpg",
    "text/plain": ".txt",
}
_UUE_BEGIN_RE = re.compile(r"^begin [0-7]{3,4} (\S.*)$", re.MULTILINE)


@dataclass
class _Collector:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[EmailAttachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    parts_seen: int = 0
    # Bodies found inside winmail.dat: used only when the MIME parts carry no body of their own.
    tnef_plain: list[str] = field(default_factory=list)
    tnef_html: list[str] = field(default_factory=list)


def _content_type(part: Message) -> str:
    try:
        value = part.get_content_type()
    except Exception:  # noqa: BLE001
        value = "text/plain"
    return (value or "text/plain").lower()


def _param(part: Message, name: str) -> str | None:
    try:
        value = part.get_param(name)
    except Exception:  # noqa: BLE001
        return None
    if isinstance(value, tuple):
        try:
            return email.utils.collapse_rfc2231_value(value)
        except (LookupError, UnicodeError, TypeError):
            return bytes_decode(str(value[2]).encode("latin-1", errors="replace"))
    return value


def _filename(part: Message) -> str:
    name: str | None = None
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 - RFC 2231 with an unknown charset, broken quoting ...
        name = None
    if not name:
        name = _param(part, "name")
    if not name:
        return ""
    name = header_decode(str(name))
    # Never trust a path: keep the last component, drop control characters.
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().strip(".") or ""
    return name[:255]


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:  # noqa: BLE001
        return ""


def _payload_bytes(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - broken base64 / uuencode
        payload = None
    if payload is None:
        raw = part.get_payload()
        if isinstance(raw, str):
            payload = raw.encode("utf-8", errors="surrogateescape")
        else:
            payload = b""
    return payload


def _text_of(part: Message) -> str:
    text = bytes_decode(_payload_bytes(part), _param(part, "charset"))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _content_id(part: Message) -> str:
    value = str(part.get("Content-ID", "") or "")
    return value.strip().strip("<>").strip()[:255]


def _guess_name(content_type: str, index: int, stem: str = "attachment") -> str:
    ext = _EXTRA_EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ".bin"
    return f"{stem}-{index}{ext}"


def _attachment_add(collector: _Collector, part: Message, content_type: str, inline: bool) -> None:
    filename = _filename(part) or _guess_name(content_type, len(collector.attachments) + 1)
    collector.attachments.append(
        EmailAttachment(
            filename=filename,
            content_type=content_type,
            payload=_payload_bytes(part),
            inline=inline,
            content_id=_content_id(part),
        )
    )


def _message_bytes(part: Message) -> bytes:
    inner = part.get_payload()
    if isinstance(inner, list) and inner:
        inner = inner[0]
    if isinstance(inner, Message):
        try:
            return inner.as_bytes(policy=email.policy.compat32)
        except Exception:  # noqa: BLE001
            try:
                return inner.as_string(policy=email.policy.compat32).encode("utf-8", errors="replace")
            except Exception:  # noqa: BLE001
                return b""
    if isinstance(inner, str):
        return inner.encode("utf-8", errors="surrogateescape")
    return _payload_bytes(part)


def _walk(part: Message, collector: _Collector, depth: int = 0, in_alternative: bool = False) -> None:
    collector.parts_seen += 1
    if collector.parts_seen > MAX_PARTS or depth > MAX_DEPTH:
        if "too many parts" not in collector.defects:
            collector.defects.append("too many parts")
        return
    content_type = _content_type(part)
    maintype = content_type.split("/", 1)[0]
    disposition = _disposition(part)

    if content_type in ("message/rfc822", "message/global"):
        inner = part.get_payload()
        inner_msg = inner[0] if isinstance(inner, list) and inner else None
        subject = ""
        if isinstance(inner_msg, Message):
            subject = header_decode(_Headers(inner_msg).first("Subject"))
        filename = _filename(part) or (_safe_stem(subject) + ".eml" if subject else "")
        filename = filename or _guess_name(content_type, len(collector.attachments) + 1, "message")
        collector.attachments.append(
            EmailAttachment(filename=filename, content_type="message/rfc822", payload=_message_bytes(part))
        )
        return

    if maintype == "multipart" and not part.is_multipart():
        # A multipart whose boundary never appears: its content is all we have, read it as text.
        payload = part.get_payload()
        if isinstance(payload, str) and payload.strip():
            collector.plain.append(_surrogates_fix(payload).replace("\r\n", "\n"))
        return
    if part.is_multipart():
        children = part.get_payload()
        if not isinstance(children, list):
            return
        if content_type == "multipart/alternative":
            _walk_alternative(children, collector, depth)
            return
        for child in children:
            if isinstance(child, Message):
                _walk(child, collector, depth + 1, in_alternative)
        return

    filename = _filename(part)
    content_id = _content_id(part)
    is_body_candidate = (
        content_type in ("text/plain", "text/html")
        and disposition != "attachment"
        and not (filename and disposition == "inline" and content_type != "text/html")
    )
    if is_body_candidate and not filename:
        text = _text_of(part)
        if content_type == "text/html":
            collector.html.append(text)
        else:
            collector.plain.append(_uudecode_into(text, collector))
        return
    if content_type == "text/plain" and disposition != "attachment" and not filename:
        collector.plain.append(_text_of(part))
        return
    if _is_tnef(content_type, filename, part):
        _tnef_extract(part, collector)
        return
    inline = disposition == "inline" or (bool(content_id) and disposition != "attachment")
    inline = inline and maintype == "image"
    _attachment_add(collector, part, content_type, inline)


# ---------------------------------------------------------------------------------------------
# TNEF (Outlook's winmail.dat): its files become attachments and its body a body.

TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"
_MAPI_ATTACH_MIME_TAG = 0x370E
_MAPI_ATTACH_CONTENT_ID = 0x3712


def _is_tnef(content_type: str, filename: str, part: Message) -> bool:
    if content_type not in ("application/ms-tnef", "application/vnd.ms-tnef") and filename.lower() != "winmail.dat":
        return False
    return _payload_bytes(part)[:4] == TNEF_SIGNATURE


def _tnef_text(value: Any, codepage: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, bytes):
        value = bytes_decode(value, codepage)
    return str(value).replace("\x00", "").strip()


def _tnef_mapi_value(attachment: Any, name: int) -> str:
    for attr in getattr(attachment, "mapi_attrs", []):
        if getattr(attr, "name", None) == name:
            try:
                return _tnef_text(attr.data)
            except Exception:  # noqa: BLE001 - one odd property must not lose the file
                return ""
    return ""


def _tnef_filename(attachment: Any, codepage: str | None, index: int) -> str:
    name = ""
    try:
        name = _tnef_text(attachment.long_filename(), codepage)
    except Exception:  # noqa: BLE001 - tnefparse decodes the 8.3 name as UTF-8, which can fail
        name = ""
    if not name:
        name = _tnef_text(getattr(attachment, "_name", b""), codepage)
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().strip(".")
    return name[:255] or f"attachment-{index}.bin"


def _tnef_extract(part: Message, collector: _Collector) -> None:
    """Lift the files (and the body, kept aside) out of a winmail.dat. When nothing can be read
    from it, the winmail.dat itself is kept as an attachment so nothing is lost."""
    try:
        from tnefparse.tnef import TNEF
    except ImportError:  # the dependency is missing from this install: keep the file as it came
        _attachment_add(collector, part, "application/ms-tnef", False)
        return
    payload = _payload_bytes(part)
    try:
        tnef = TNEF(payload, do_checksum=True)  # a wrong checksum is only logged
    except Exception:  # noqa: BLE001 - truncated or hostile TNEF: keep the file as it came
        collector.defects.append("unreadable TNEF (winmail.dat) kept as it came")
        _attachment_add(collector, part, "application/ms-tnef", False)
        return
    codepage = getattr(tnef, "codepage", None)
    found = 0
    for attachment in getattr(tnef, "attachments", []):
        collector.parts_seen += 1
        if collector.parts_seen > MAX_PARTS:
            collector.defects.append("too many parts")
            break
        data = getattr(attachment, "data", b"") or b""
        if not isinstance(data, bytes) or not data:
            continue
        filename = _tnef_filename(attachment, codepage, len(collector.attachments) + 1)
        declared = _tnef_mapi_value(attachment, _MAPI_ATTACH_MIME_TAG).lower()
        content_type = declared if re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+-]+", declared) else ""
        content_type = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        content_id = _tnef_mapi_value(attachment, _MAPI_ATTACH_CONTENT_ID).strip("<>")[:255]
        collector.attachments.append(
            EmailAttachment(
                filename=filename,
                content_type=content_type,
                payload=data,
                inline=bool(content_id) and content_type.startswith("image/"),
                content_id=content_id,
            )
        )
        found += 1
    try:
        html = _tnef_text(tnef.htmlbody, codepage)
        plain = _tnef_text(tnef.body, codepage)
    except Exception:  # noqa: BLE001
        html = plain = ""
    if html:
        collector.tnef_html.append(html)
    if plain:
        collector.tnef_plain.append(plain.replace("\r\n", "\n"))
    if not found and not html and not plain:
        # An RTF-only body (or an empty container): keep the original for the agent to open.
        collector.defects.append("TNEF (winmail.dat) without readable files or body kept as it came")
        _attachment_add(collector, part, "application/ms-tnef", False)


def _walk_alternative(children: list[Any], collector: _Collector, depth: int) -> None:
    """Take the best plain and the best HTML version (the last of each, as RFC 2046 orders them)."""
    plain_child = html_child = None
    others = []
    for child in children:
        if not isinstance(child, Message):
            continue
        ctype = _content_type(child)
        if ctype == "text/plain" and _disposition(child) != "attachment":
            plain_child = child
        elif ctype == "text/html" and _disposition(child) != "attachment":
            html_child = child
        elif child.is_multipart():
            others.append(child)
    if plain_child is not None:
        collector.plain.append(_uudecode_into(_text_of(plain_child), collector))
    if html_child is not None:
        collector.html.append(_text_of(html_child))
    for child in others:
        sub = _Collector(parts_seen=collector.parts_seen)
        _walk(child, sub, depth + 1, True)
        collector.parts_seen = sub.parts_seen
        if sub.html and not html_child:
            collector.html.extend(sub.html)
        if sub.plain and plain_child is None:
            collector.plain.extend(sub.plain)
        collector.attachments.extend(sub.attachments)
        collector.defects.extend(sub.defects)
        collector.tnef_plain.extend(sub.tnef_plain)
        collector.tnef_html.extend(sub.tnef_html)


def _uudecode_into(text: str, collector: _Collector) -> str:
    """Lift "begin 644 name ... end" blocks out of a plain body into attachments."""
    if "begin " not in text:
        return text
    out = text
    for match in list(_UUE_BEGIN_RE.finditer(text)):
        start = match.start()
        end = text.find("\nend", match.end())
        if end < 0:
            continue
        block = text[match.end() : end].strip("\r\n").splitlines()
        data = bytearray()
        try:
            for line in block:
                if not line.strip() or line.strip() == "`":
                    continue
                data += binascii.a2b_uu(line.encode("latin-1", errors="replace"))
        except (binascii.Error, ValueError):
            collector.defects.append("broken uuencoded block")
            continue
        name = re.split(r"[\\/]", match.group(1).strip())[-1] or "attachment.bin"
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        collector.attachments.append(EmailAttachment(filename=name[:255], content_type=ctype, payload=bytes(data)))
        out = out.replace(text[start : end + 4], f"[attachment: {name}]")
    return out


def _safe_stem(value: str) -> str:
    stem = re.sub(r"[^\w .,()+-]", "_", value).strip()[:100]
    return stem or "message"


# ---------------------------------------------------------------------------------------------


def size_cut_text(*, size: int, limit: int) -> str:
    """What an agent reads in place of a message that was over the size limit."""
    return _(
        "This email was %(size)s, over the limit of %(limit)s for one email, so only its headers "
        "(sender, recipients, subject, date) were read; its text and attachments were not kept here. "
        "The sender has been told, unless the message was automatic."
    ) % {"size": filesizeformat(size), "limit": filesizeformat(limit)}


def email_parse(raw: bytes, *, max_bytes: int | None = None, declared_size: int | None = None) -> ParsedEmail:
    """Parse one raw message. Never raises for bad input; see the module docstring.

    `declared_size` is the size the server reported when only the first bytes were fetched
    (IMAP fetches at most the limit plus one byte)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", errors="surrogateescape")
    limit = max_bytes if max_bytes is not None else DEFAULT_MAX_MESSAGE_BYTES
    result = ParsedEmail()
    truncated = ""
    if len(raw) > limit:
        # Keep the headers only: the raw message stays stored, the agent is told why.
        result.size_bytes = max(len(raw), int(declared_size or 0))
        result.size_limit = limit
        head, _sep, _rest = raw.partition(b"\n\n")
        if len(head) == len(raw):
            head, _sep, _rest = raw.partition(b"\r\n\r\n")
        raw = head[: 1024 * 1024] + b"\n\n"
        truncated = size_cut_text(size=result.size_bytes, limit=limit)
    # mbox-style "From " separator lines (common in saved bounces) are not headers.
    if raw.startswith(b"From ") and b"\n" in raw[:2000]:
        raw = raw.split(b"\n", 1)[1]
    msg = email.message_from_bytes(raw, policy=PARSE_POLICY)
    headers = _Headers(msg)

    result.truncated = truncated
    senders = addresses_parse(headers.all("From"))
    result.from_ = senders[0] if senders else None
    result.to = addresses_parse(headers.all("To"))
    result.cc = addresses_parse(headers.all("Cc"))
    result.reply_to = addresses_parse(headers.all("Reply-To"))
    result.delivered_to = addresses_parse(
        headers.all("Delivered-To") + headers.all("X-Original-To") + headers.all("Envelope-To")
    )
    result.subject = headers.decoded("Subject")[:1000]
    result.date = _date_parse(headers.first("Date"))
    result.message_id = message_id_normalise(headers.first("Message-ID"))
    result.in_reply_to = [i for v in headers.all("In-Reply-To") for i in message_ids_parse(v)][:100]
    result.references = [i for v in headers.all("References") for i in message_ids_parse(v)][:100]

    collector = _Collector()
    if not truncated:
        try:
            _walk(msg, collector)
        except (RecursionError, Exception) as exc:  # noqa: BLE001 - read what we can, never crash
            collector.defects.append(f"body could not be read completely: {exc.__class__.__name__}")
    result.defects = [str(d.__class__.__name__) for d in getattr(msg, "defects", [])] + collector.defects
    result.attachments = collector.attachments
    if not any(p.strip() for p in collector.plain) and not any(h.strip() for h in collector.html):
        collector.plain, collector.html = collector.tnef_plain, collector.tnef_html

    html_raw = "\n".join(h for h in collector.html if h.strip())
    result.body_html = sanitize_html(html_raw) if html_raw else ""
    plain = "\n\n".join(p.strip("\n") for p in collector.plain if p.strip())
    if plain.strip():
        result.body_text = plain.strip()
    elif result.body_html:
        result.body_text = html_to_text(result.body_html)
    if truncated:
        result.body_text = truncated
    result.reply_text = _reply_text(result.body_text)

    result.ticket_number = ticket_number_hint(
        result.subject, result.to + result.cc + result.delivered_to + result.reply_to
    )
    bounce = bounce_detect(msg, headers_from=result.from_.address if result.from_ else "", subject=result.subject)
    if bounce is not None:
        result.is_bounce = True
        result.bounce = bounce
    reason = auto_reply_reason(headers, result.subject)
    if not reason and result.is_bounce:
        reason = "delivery report"
    result.is_auto_reply = bool(reason)
    result.auto_reply_reason = reason
    return result


__all__ = [
    "EmailAddress",
    "EmailAttachment",
    "EmailMessage",
    "ParsedEmail",
    "addresses_parse",
    "bytes_decode",
    "email_parse",
    "header_decode",
    "message_id_normalise",
    "message_ids_parse",
]
