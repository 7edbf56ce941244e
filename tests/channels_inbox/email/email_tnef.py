"""A small writer of TNEF streams (Outlook's winmail.dat), from Microsoft's [MS-OXTNEF] layout,
so the tests build their own winmail.dat files instead of shipping someone else's.

Stream: signature 0x223E9F78 (little endian), a 16-bit key, then attributes. Each attribute is
a level byte (1 message, 2 attachment), a 32-bit id (low word the attribute, high word its
type), a 32-bit length, the data, and a 16-bit checksum (sum of the data bytes mod 65536).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

SIGNATURE = 0x223E9F78
LEVEL_MESSAGE, LEVEL_ATTACHMENT = 1, 2

# (attribute, type) pairs from [MS-OXTNEF] 2.1.3.
ATT_TNEF_VERSION = (0x9006, 0x0008)
ATT_OEM_CODEPAGE = (0x9007, 0x0006)
ATT_BODY = (0x800C, 0x0002)
ATT_MSG_PROPS = (0x9003, 0x0006)
ATT_ATTACH_REND_DATA = (0x9002, 0x0006)
ATT_ATTACH_TITLE = (0x8010, 0x0001)
ATT_ATTACH_DATA = (0x800F, 0x0006)
ATT_ATTACHMENT = (0x9005, 0x0006)

PT_LONG, PT_STRING8, PT_UNICODE, PT_BINARY = 0x0003, 0x001E, 0x001F, 0x0102
PID_BODY_HTML = 0x1013
PID_ATTACH_LONG_FILENAME = 0x3707
PID_ATTACH_MIME_TAG = 0x370E
PID_ATTACH_CONTENT_ID = 0x3712


@dataclass(frozen=True)
class TnefFile:
    short_name: bytes  # the 8.3 title, in the OEM code page
    long_name: str  # PR_ATTACH_LONG_FILENAME (UTF-16)
    data: bytes
    mime_type: str = ""
    content_id: str = ""


def _attribute(level: int, which: tuple[int, int], data: bytes) -> bytes:
    name, kind = which
    return struct.pack("<BHHI", level, name, kind, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)


def _mapi(props: list[tuple[int, int, bytes | int]]) -> bytes:
    out = struct.pack("<I", len(props))
    for kind, pid, value in props:
        out += struct.pack("<HH", kind, pid)
        if kind == PT_LONG:
            out += struct.pack("<i", value)
        else:
            assert isinstance(value, bytes)
            out += struct.pack("<II", 1, len(value)) + value + b"\0" * ((-len(value)) % 4)
    return out


def tnef_build(files: list[TnefFile], *, body: bytes = b"", html: bytes = b"", codepage: int = 1252) -> bytes:
    out = struct.pack("<IH", SIGNATURE, 0x0001)
    out += _attribute(LEVEL_MESSAGE, ATT_TNEF_VERSION, struct.pack("<I", 0x00010000))
    out += _attribute(LEVEL_MESSAGE, ATT_OEM_CODEPAGE, struct.pack("<II", codepage, 0))
    if body:
        out += _attribute(LEVEL_MESSAGE, ATT_BODY, body)
    if html:
        out += _attribute(LEVEL_MESSAGE, ATT_MSG_PROPS, _mapi([(PT_BINARY, PID_BODY_HTML, html)]))
    for item in files:
        out += _attribute(LEVEL_ATTACHMENT, ATT_ATTACH_REND_DATA, struct.pack("<HIHHI", 1, 0xFFFFFFFF, 0, 0, 0))
        out += _attribute(LEVEL_ATTACHMENT, ATT_ATTACH_TITLE, item.short_name + b"\0")
        out += _attribute(LEVEL_ATTACHMENT, ATT_ATTACH_DATA, item.data)
        props: list[tuple[int, int, bytes | int]] = [
            (PT_UNICODE, PID_ATTACH_LONG_FILENAME, item.long_name.encode("utf-16-le") + b"\0\0")
        ]
        if item.mime_type:
            props.append((PT_STRING8, PID_ATTACH_MIME_TAG, item.mime_type.encode() + b"\0"))
        if item.content_id:
            props.append((PT_STRING8, PID_ATTACH_CONTENT_ID, item.content_id.encode() + b"\0"))
        out += _attribute(LEVEL_ATTACHMENT, ATT_ATTACHMENT, _mapi(props))
    return out


def outlook_email(tnef: bytes, *, text: str = "", sender: str = "Rui <rui@customer.test>", message_id: str) -> bytes:
    """An email the way Outlook sends "rich text" mail: a text part (optional) and winmail.dat."""
    import base64

    encoded = base64.encodebytes(tnef).replace(b"\n", b"\r\n")
    parts = []
    if text:
        parts.append(b"--TNEF\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text.encode() + b"\r\n")
    parts.append(
        b'--TNEF\r\nContent-Type: application/ms-tnef; name="winmail.dat"\r\n'
        b"Content-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="winmail.dat"\r\n\r\n' + encoded
    )
    return (
        (
            f"From: {sender}\r\nTo: support@helpdesk.test\r\nSubject: Quarterly report\r\n"
            f"Message-ID: {message_id}\r\nDate: Mon, 03 Feb 2025 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="TNEF"\r\n\r\n'
        ).encode()
        + b"".join(parts)
        + b"--TNEF--\r\n"
    )
