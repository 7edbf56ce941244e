"""sms_segments(text) -> (encoding, segments, chars_left), for the composer's counter."""

from __future__ import annotations

import pytest

from channels_inbox.twilio.segments import sms_segments


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("GSM-7", 0, 160)),
        ("Hello", ("GSM-7", 1, 155)),
        ("a" * 160, ("GSM-7", 1, 0)),
        ("a" * 161, ("GSM-7", 2, 145)),
        ("a" * 306, ("GSM-7", 2, 0)),
        ("a" * 307, ("GSM-7", 3, 152)),
        ("Price: 5€ [promo]", ("GSM-7", 1, 140)),  # € [ ] take two septets each
        ("{" * 80, ("GSM-7", 1, 0)),
        ("{" * 81, ("GSM-7", 2, 143)),  # 76 pairs fill 152 of 153 septets; the 77th moves on
        ("a" * 152 + "€", ("GSM-7", 1, 6)),
        ("a" * 152 + "€" + "a" * 10, ("GSM-7", 2, 141)),  # the escape pair never straddles two segments
        ("Ça coûte 5 €", ("UCS-2", 1, 58)),  # û is not in the GSM alphabet
        ("Привет", ("UCS-2", 1, 64)),
        ("я" * 70, ("UCS-2", 1, 0)),
        ("я" * 71, ("UCS-2", 2, 63)),
        ("😀", ("UCS-2", 1, 68)),  # outside the BMP: two UTF-16 units
        ("я" * 66 + "😀", ("UCS-2", 1, 2)),
        ("я" * 66 + "😀" + "я" * 5, ("UCS-2", 2, 60)),  # the surrogate pair moves whole to the next segment
        ("Olà, à tarde: ñ ü ß Ä ¿¡ @£$¥", ("GSM-7", 1, 131)),
        ("Olá", ("UCS-2", 1, 67)),  # GSM-7 has à but not á
    ],
)
def test_sms_segments(text, expected):
    assert sms_segments(text) == expected
