"""Outlook's winmail.dat (TNEF): the files inside become the message's attachments and, when
the email has no body of its own, the TNEF body becomes its text; an unreadable winmail.dat is
kept as it came."""

from __future__ import annotations

import pytest

from channels_inbox.email.parser import email_parse
from channels_inbox.management.commands.ingest_email import email_ingest_outcome
from tickets.models import Ticket

from .email_tnef import TnefFile, outlook_email, tnef_build

REPORT = TnefFile(
    short_name="RELAT~1.PDF".encode("cp1252"),
    long_name="Relatório de março.pdf",
    data=b"%PDF-1.4\n" + bytes(range(256)) * 4,
    mime_type="application/pdf",
)
NOTES = TnefFile(short_name=b"NOTES.TXT", long_name="notes.txt", data=b"line one\r\nline two\r\n")
LOGO = TnefFile(
    short_name=b"IMAGE001.PNG",
    long_name="image001.png",
    data=b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
    mime_type="image/png",
    content_id="image001.png@01DB0000.00000000",
)


def test_files_inside_winmail_dat_become_attachments_with_their_long_names_types_and_sizes():
    raw = outlook_email(tnef_build([REPORT, NOTES, LOGO]), text="Report attached.", message_id="<t1@c.test>")
    parsed = email_parse(raw)
    assert parsed.body_text == "Report attached."
    got = [(a.filename, a.content_type, a.size, a.inline, a.content_id) for a in parsed.attachments]
    assert got == [
        ("Relatório de março.pdf", "application/pdf", len(REPORT.data), False, ""),
        ("notes.txt", "text/plain", len(NOTES.data), False, ""),
        ("image001.png", "image/png", len(LOGO.data), True, "image001.png@01DB0000.00000000"),
    ]
    assert parsed.attachments[0].payload == REPORT.data
    assert "winmail.dat" not in [a.filename for a in parsed.attachments]


def test_the_tnef_body_is_the_text_when_the_email_has_none_of_its_own():
    tnef = tnef_build([NOTES], html=b"<p>Hello <b>team</b>,</p><p>see the notes.</p><script>alert(1)</script>")
    parsed = email_parse(outlook_email(tnef, message_id="<t2@c.test>"))
    assert "<b>team</b>" in parsed.body_html and "script" not in parsed.body_html
    assert parsed.body_text.startswith("Hello team,") and "see the notes." in parsed.body_text
    assert [a.filename for a in parsed.attachments] == ["notes.txt"]

    plain_only = email_parse(outlook_email(tnef_build([], body=b"Caf\xe9 order 12"), message_id="<t3@c.test>"))
    assert plain_only.body_text == "Café order 12" and plain_only.attachments == []


@pytest.mark.parametrize(
    "payload",
    [
        tnef_build([REPORT])[:40],  # cut short in the middle of an attribute
        b"\x78\x9f\x3e\x22\x01\x00" + b"\xff" * 64,  # right signature, garbage after it
    ],
)
def test_a_broken_winmail_dat_is_kept_as_it_came_and_never_crashes(payload):
    parsed = email_parse(outlook_email(payload, text="see attached", message_id="<t4@c.test>"))
    assert parsed.body_text == "see attached"
    (kept,) = parsed.attachments
    assert (kept.filename, kept.content_type, kept.payload) == ("winmail.dat", "application/ms-tnef", payload)
    assert any("winmail.dat" in defect for defect in parsed.defects)


def test_a_winmail_dat_without_files_or_readable_body_is_kept_for_the_agent():
    empty = tnef_build([])
    parsed = email_parse(outlook_email(empty, text="rtf only", message_id="<t5@c.test>"))
    (kept,) = parsed.attachments
    assert (kept.filename, kept.payload) == ("winmail.dat", empty)


def test_a_file_named_winmail_dat_that_is_not_tnef_stays_an_ordinary_attachment():
    parsed = email_parse(outlook_email(b"just some bytes", text="hi", message_id="<t6@c.test>"))
    (kept,) = parsed.attachments
    assert kept.filename == "winmail.dat" and kept.payload == b"just some bytes"


@pytest.mark.django_db
def test_an_outlook_email_lands_on_a_ticket_with_the_files_from_winmail_dat(email_adapter, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    raw = outlook_email(tnef_build([REPORT, NOTES]), text="Report attached.", message_id="<t7@c.test>")
    assert email_ingest_outcome(raw).startswith("new ticket #")
    message = Ticket.objects.get().messages.get()
    files = {a.filename: a for a in message.attachments.all()}
    assert sorted(files) == ["Relatório de março.pdf", "notes.txt"]
    with files["Relatório de março.pdf"].file.open("rb") as handle:
        assert handle.read() == REPORT.data
    assert message.body_text == "Report attached."
