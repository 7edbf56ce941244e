"""Mail that is broken, lying or hostile: the parser reads what it can and never crashes."""

from __future__ import annotations

import time

import pytest

from channels_inbox.email.adapter import MissingSender, email_external_id, inbound_from_parsed
from channels_inbox.email.parser import email_parse, header_decode, message_ids_parse


def test_unknown_and_wrong_charsets_fall_back_instead_of_failing():
    raw = (
        b"From: =?x-klingon?Q?Kor?= <kor@example.com>\r\n"
        b"Subject: =?utf-8?B?4pyTIGRvbmU=?= and =?bogus-charset?Q?caf=E9?=\r\n"
        b"Content-Type: text/plain; charset=x-klingon\r\n\r\n"
    ) + "café crème".encode("latin-1")
    parsed = email_parse(raw)
    assert parsed.subject.startswith("✓ done and caf")
    assert parsed.body_text == "café crème"  # not UTF-8, so read as Windows-1252
    declared_wrong = b"From: a@example.com\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + "Grüße".encode()
    assert email_parse(declared_wrong).body_text == "Grüße"


def test_rfc2231_and_rfc2047_file_names_and_path_tricks():
    raw = (
        b"From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n"
        b"--X\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b"--X\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''%C3%BAloha%20%E2%84%961.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n"
        b'--X\r\nContent-Type: text/plain; name="=?utf-8?Q?r=C3=A9sum=C3=A9.txt?="\r\n'
        b"Content-Disposition: attachment\r\n\r\nCV\r\n"
        b"--X\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="../../etc/passwd"\r\n\r\nroot\r\n'
        b"--X--\r\n"
    )
    parsed = email_parse(raw)
    assert [(a.filename, a.payload) for a in parsed.attachments] == [
        ("úloha №1.pdf", b"%PDF-"),
        ("résumé.txt", b"CV"),
        ("passwd", b"root"),
    ]
    assert parsed.body_text == "see attached"


def test_malformed_mime_is_read_as_far_as_it_goes():
    raw = (
        b"From: a@example.com\r\nSubject: broken\r\nContent-Type: multipart/mixed; boundary=NEVER\r\n\r\n"
        b"no boundary ever appears\r\n"
    )
    parsed = email_parse(raw)
    assert parsed.subject == "broken" and "no boundary ever appears" in parsed.body_text
    garbage = email_parse(b"\x00\xff\xfe not an email at all \x00")
    assert garbage.from_ is None and isinstance(garbage.body_text, str)
    bad_base64 = (
        b"From: a@example.com\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=a.png\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64***\r\n"
    )
    assert email_parse(bad_base64).attachments[0].filename == "a.png"
    assert email_parse(b"").from_ is None


def test_missing_headers_and_a_message_without_from():
    parsed = email_parse(b"\r\nJust a body.\r\n")
    assert parsed.from_ is None and parsed.subject == "" and parsed.date is None and parsed.message_id == ""
    with pytest.raises(MissingSender, match="no usable From address"):
        inbound_from_parsed(parsed, external_id="x")
    # Without a Message-ID the external id is a digest of the bytes: stable, so redeliveries dedupe.
    assert email_external_id(b"Subject: a\r\n\r\nb") == email_external_id(b"Subject: a\r\n\r\nb")
    assert email_external_id(b"Subject: a\r\n\r\nb").startswith("sha256:")


def test_huge_header_lines_and_deep_nesting_stay_fast():
    huge = b"From: a@example.com\r\nSubject: " + b"A" * 2_000_000 + b"\r\nX-Junk: " + b"b " * 500_000 + b"\r\n\r\nhi"
    started = time.perf_counter()
    parsed = email_parse(huge)
    assert time.perf_counter() - started < 10
    assert len(parsed.subject) <= 1000 and parsed.body_text == "hi"

    nested = b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
    for depth in range(1, 60):
        nested += f"--b{depth - 1}\r\nContent-Type: multipart/mixed; boundary=b{depth}\r\n\r\n".encode()
    nested += b"--b59\r\nContent-Type: text/plain\r\n\r\ndeep\r\n"
    parsed = email_parse(nested)
    assert isinstance(parsed.body_text, str)


def test_script_laden_html_is_sanitised_and_a_text_version_made():
    raw = (
        b"From: a@example.com\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><script>alert(1)</script><style>p{}</style></head><body>"
        b'<p onclick="steal()">Hello <b>agent</b></p><img src="javascript:alert(2)">'
        b'<a href="javascript:alert(3)">x</a><iframe src="http://evil"></iframe><img src="cid:logo@x"></body></html>'
    )
    parsed = email_parse(raw)
    html = parsed.body_html.lower()
    assert "<script" not in html and "onclick" not in html and "javascript:" not in html and "<iframe" not in html
    assert "<b>agent</b>" in html and 'src="cid:logo@x"' in html
    assert parsed.body_text == "Hello agent\nx"


def test_message_ids_are_normalised_to_angle_brackets():
    assert message_ids_parse("<a@b> <c@d>\r\n <e@f>") == ["<a@b>", "<c@d>", "<e@f>"]
    assert message_ids_parse("a@b") == ["<a@b>"]
    assert message_ids_parse("garbage") == []
    parsed = email_parse(b"From: a@example.com\r\nMessage-Id:   <X@Y>  \r\nReferences: <1@h>\r\n\t<2@h>\r\n\r\n")
    assert parsed.message_id == "<X@Y>" and parsed.references == ["<1@h>", "<2@h>"]


def test_ticket_number_from_subject_token_and_plus_address():
    parsed = email_parse(b"From: a@example.com\r\nSubject: Re: [#1234] Refund\r\n\r\nx")
    assert parsed.ticket_number == 1234
    plus = email_parse(b"From: a@example.com\r\nTo: support+t77@help.example\r\nSubject: Re: [#1234] x\r\n\r\nx")
    assert plus.ticket_number == 77


@pytest.mark.parametrize(
    ("header", "auto"),
    [
        ("Auto-Submitted: auto-replied", True),
        ("Auto-Submitted: no", False),
        ("Precedence: bulk", True),
        ("Precedence: junk", True),
        ("X-Autoreply: yes", True),
        ("X-Autorespond: on", True),
        ("X-Auto-Response-Suppress: All", True),
        ("List-Id: <news.example.com>", True),
        ("List-Unsubscribe: <mailto:u@example.com>", True),
        ("Return-Path: <>", True),
        ("Subject: Out of Office: back Monday", True),
        ("Subject: Automatische Antwort: Urlaub", True),
        ("Subject: Question about my outbox", False),
        ("X-Mailer: Thunderbird", False),
    ],
)
def test_auto_reply_signs(header: str, auto: bool):
    raw = f"From: a@example.com\r\n{header}\r\n\r\nbody".encode()
    assert email_parse(raw).is_auto_reply is auto


def test_uuencoded_body_becomes_an_attachment():
    import binascii

    line = binascii.b2a_uu(b"hello uu").decode()
    raw = f"From: a@example.com\r\nSubject: uu\r\n\r\nSee file:\r\nbegin 644 note.txt\r\n{line}`\r\nend\r\nbye\r\n"
    parsed = email_parse(raw.encode())
    assert [(a.filename, a.payload) for a in parsed.attachments] == [("note.txt", b"hello uu")]
    assert "begin 644" not in parsed.body_text and "bye" in parsed.body_text


def test_forwarded_message_rfc822_part_is_an_eml_attachment():
    inner = b"From: b@example.com\r\nSubject: Original\r\nMessage-ID: <in@x>\r\n\r\ninner body\r\n"
    raw = (
        b"From: a@example.com\r\nSubject: Fwd\r\nContent-Type: multipart/mixed; boundary=Q\r\n\r\n"
        b"--Q\r\nContent-Type: text/plain\r\n\r\nsee below\r\n--Q\r\nContent-Type: message/rfc822\r\n\r\n"
        + inner
        + b"--Q--\r\n"
    )
    parsed = email_parse(raw)
    (attachment,) = parsed.attachments
    assert attachment.filename == "Original.eml" and attachment.content_type == "message/rfc822"
    assert b"inner body" in attachment.payload and parsed.body_text == "see below"


def test_oversized_message_keeps_headers_and_says_why():
    raw = b"From: a@example.com\r\nSubject: big\r\n\r\n" + b"x" * 5000
    parsed = email_parse(raw, max_bytes=1000)
    assert parsed.subject == "big" and parsed.from_.address == "a@example.com"
    assert "over the limit of 1000\xa0bytes for one email" in parsed.body_text and parsed.truncated
    assert (parsed.size_limit, parsed.size_bytes) == (1000, len(raw))


def test_header_decode_never_raises():
    for value in ["=?utf-8?B?####?=", "=?utf-8?Q?=ZZ?=", "=?unknown?X?abc?=", "\udcff\udcfe", "plain"]:
        assert isinstance(header_decode(value), str)
