"""How many SMS segments a text takes, for the composer's counter.

A text that only uses the GSM 03.38 alphabet is sent as GSM-7: 160 septets in one SMS, 153 per
segment once it has to be split (the rest of each segment holds the concatenation header).
Characters of the GSM extension table (^ { } \\ [ ] ~ | € and form feed) take two septets, an
escape and the character, and a pair is never split across two segments. Any other character
makes the whole text UCS-2: 70 UTF-16 code units in one SMS, 67 per segment, where a character
outside the Basic Multilingual Plane (most emoji) takes two units that stay together.
"""

from __future__ import annotations

GSM_7 = "GSM-7"
UCS_2 = "UCS-2"

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

_LIMITS = {GSM_7: (160, 153), UCS_2: (70, 67)}


def sms_encoding(text: str) -> str:
    return GSM_7 if all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text) else UCS_2


def _units(text: str, encoding: str) -> list[int]:
    """The size of each character in the encoding's units (septets or UTF-16 code units)."""
    if encoding == GSM_7:
        return [2 if ch in GSM_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def sms_segments(text: str) -> tuple[str, int, int]:
    """(encoding, segments, chars_left): "GSM-7" or "UCS-2", how many SMS the text is sent as,
    and how many units still fit in the last one. An empty text is 0 segments."""
    encoding = sms_encoding(text)
    single, part = _LIMITS[encoding]
    units = _units(text, encoding)
    total = sum(units)
    if total <= single:
        return encoding, (1 if total else 0), single - total
    segments, used = 1, 0
    for size in units:
        if used + size > part:  # an escape pair or surrogate pair never straddles segments
            segments, used = segments + 1, 0
        used += size
    return encoding, segments, part - used
