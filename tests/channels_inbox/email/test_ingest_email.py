"""Email end to end: raw message -> stored raw -> adapter -> the one ingest service."""

from __future__ import annotations

import io
import json
import sys
from email.message import EmailMessage

import pytest
from django.core.management import CommandError, call_command

from tests.factories import TicketFactory, make_agent
from tickets.models import DeliveryStatus, Message, RawInbound, RawInboundStatus, Ticket
from tickets.services.tickets import ticket_reply

from .conftest import corpus_dir

pytestmark = pytest.mark.django_db

CONTRACT_KEYS = {
    "from",
    "to",
    "cc",
    "reply_to",
    "subject",
    "date",
    "message_id",
    "in_reply_to",
    "references",
    "body_text",
    "body_html",
    "attachments",
    "is_auto_reply",
    "is_bounce",
}


def ingest(path_or_bytes, capsys, monkeypatch=None) -> str:
    if isinstance(path_or_bytes, bytes):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(path_or_bytes)))
        call_command("ingest_email", "-")
    else:
        call_command("ingest_email", str(path_or_bytes))
    return capsys.readouterr().out.strip()


def make_email(**headers: str) -> bytes:
    msg = EmailMessage()
    for name, value in headers.items():
        if name != "body":
            msg[name.replace("_", "-")] = value
    msg.set_content(headers.get("body", "Hello, my order #77 has not arrived."))
    return msg.as_bytes()


def test_a_corpus_message_opens_a_ticket_with_customer_subject_and_attachments(
    email_adapter, capsys, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    out = ingest(corpus_dir("chatwoot", "emails") / "email_with_inline_pdf.eml", capsys)
    ticket = Ticket.objects.get()
    assert out == f"new ticket #{ticket.number}"
    assert ticket.subject == "Sample PDF"
    assert ticket.requester.identities.get().value == "user@icloud.com"
    message = ticket.messages.get()
    assert message.body_text == "Here is an example mail with inline PDF"
    assert list(message.attachments.values_list("filename", "content_type", "size")) == [
        ("dummy.pdf", "application/pdf", 13264)
    ]
    assert message.external_id.startswith("<") and message.external_id.endswith(">")
    assert message.metadata["full_text"].startswith("Here is an example mail with inline PDF")


def test_ingesting_the_same_message_twice_stores_nothing_twice(email_adapter, capsys, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    path = corpus_dir("chatwoot", "emails") / "welcome.eml"
    first = ingest(path, capsys)
    second = ingest(path, capsys)
    assert first.startswith("new ticket #")
    assert second.startswith("duplicate")
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1
    raw = RawInbound.objects.get()
    assert raw.deliveries == 2 and raw.status == RawInboundStatus.PROCESSED


def test_a_message_without_message_id_is_deduplicated_by_its_bytes(email_adapter, capsys, monkeypatch):
    raw = make_email(From="Kim <kim@example.com>", To="support@helpdesk.localhost", Subject="No id")
    assert b"Message-ID" not in raw
    assert ingest(raw, capsys, monkeypatch).startswith("new ticket #")
    assert ingest(raw, capsys, monkeypatch).startswith("duplicate")
    assert Message.objects.get().external_id.startswith("sha256:")


def test_a_reply_to_our_outbound_message_lands_on_that_ticket(email_adapter, capsys, monkeypatch):
    ticket = TicketFactory(channel="email", subject="Refund")
    outbound = ticket_reply(ticket=ticket, author=make_agent("agent-e"), body_text="We are on it")
    Message.objects.filter(pk=outbound.pk).update(
        delivery_status=DeliveryStatus.SENT, external_id="<out-42@helpdesk.localhost>"
    )
    reply = make_email(
        From="Someone Else <other@example.org>",
        To="support@helpdesk.localhost",
        Subject="Re: Refund",
        Message_ID="<reply-1@mail.example.org>",
        In_Reply_To="out-42@helpdesk.localhost",  # without brackets: normalised on the way in
        body="Thanks!\n\nOn Mon, 1 Jan 2024 at 10:00, Support <support@helpdesk.localhost> wrote:\n> We are on it\n",
    )
    assert ingest(reply, capsys, monkeypatch) == f"added to ticket #{ticket.number}"
    message = Message.objects.get(external_id="<reply-1@mail.example.org>")
    assert message.ticket_id == ticket.pk
    assert message.body_text == "Thanks!"
    assert "We are on it" in message.metadata["full_text"]


def test_a_subject_token_threads_for_the_requester(email_adapter, capsys, monkeypatch):
    first = make_email(From="ana@example.com", Subject="Broken login", Message_ID="<a1@example.com>")
    out = ingest(first, capsys, monkeypatch)
    number = Ticket.objects.get().number
    again = make_email(From="ana@example.com", Subject=f"Re: [#{number}] Broken login", Message_ID="<a2@example.com>")
    assert ingest(again, capsys, monkeypatch) == f"added to ticket #{number}"
    assert out == f"new ticket #{number}"


def test_cc_people_become_followers_but_never_our_own_address(email_adapter, capsys, monkeypatch, settings):
    settings.HELPDESK_EMAIL_ADDRESSES = ["Support <support@helpdesk.example>"]
    raw = make_email(
        From="lee@example.com",
        To="support@helpdesk.example",
        Cc="Boss <boss@example.com>, support+t99@helpdesk.example",
        Subject="Invoice",
        Message_ID="<cc-1@example.com>",
    )
    ingest(raw, capsys, monkeypatch)
    followers = Ticket.objects.get().followers.all()
    assert [f.identities.get().value for f in followers] == ["boss@example.com"]


def test_a_bounce_of_our_message_marks_it_failed_and_opens_no_ticket(email_adapter, capsys, monkeypatch):
    ticket = TicketFactory(channel="email")
    outbound = ticket_reply(ticket=ticket, author=make_agent("agent-b"), body_text="Your refund is on its way")
    Message.objects.filter(pk=outbound.pk).update(
        delivery_status=DeliveryStatus.SENT, external_id="<out-7@helpdesk.localhost>"
    )
    bounce = (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
        b"To: support@helpdesk.localhost\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"Message-ID: <bounce-1@mx.example.net>\r\n"
        b"Auto-Submitted: auto-replied\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nI could not deliver your message.\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.net\r\n\r\n"
        b"Final-Recipient: rfc822; gone@customer.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        b"--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        b"From: support@helpdesk.localhost\r\nTo: gone@customer.example\r\n"
        b"Message-ID: <out-7@helpdesk.localhost>\r\nSubject: Your refund\r\n"
        b"--B--\r\n"
    )
    tickets_before = Ticket.objects.count()
    out = ingest(bounce, capsys, monkeypatch)
    assert out.startswith("bounce recorded:") and f"ticket #{ticket.number} marked failed" in out
    outbound.refresh_from_db()
    assert outbound.delivery_status == DeliveryStatus.FAILED
    assert "gone@customer.example: 5.1.1" in outbound.delivery_error and "user unknown" in outbound.delivery_error
    assert Ticket.objects.count() == tickets_before
    assert RawInbound.objects.get(external_id="<bounce-1@mx.example.net>").status == RawInboundStatus.IGNORED


def test_an_auto_reply_that_answers_nothing_opens_no_ticket(email_adapter, capsys):
    out = ingest(corpus_dir("chatwoot", "emails") / "auto_reply_with_auto_submitted.eml", capsys)
    assert out.startswith("ignored auto-reply")
    assert Ticket.objects.count() == 0


def test_a_message_without_from_is_rejected_readably_and_kept(email_adapter, capsys, monkeypatch):
    raw = b"To: support@helpdesk.localhost\r\nSubject: who am I\r\nMessage-ID: <nofrom@x.example>\r\n\r\nHello\r\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    with pytest.raises(CommandError, match="failed: .*no usable From address"):
        call_command("ingest_email", "-")
    stored = RawInbound.objects.get(external_id="<nofrom@x.example>")
    assert stored.status == RawInboundStatus.FAILED and bytes(stored.payload) == raw
    assert Ticket.objects.count() == 0


def test_an_unreadable_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read .*missing.eml"):
        call_command("ingest_email", str(tmp_path / "missing.eml"))
    (tmp_path / "empty.eml").write_bytes(b"")
    with pytest.raises(CommandError, match="is empty"):
        call_command("ingest_email", str(tmp_path / "empty.eml"))
    assert RawInbound.objects.count() == 0


def test_parse_email_json_has_exactly_the_contract_keys_plus_documented_extras(capsys):
    call_command("parse_email", str(corpus_dir("chatwoot", "emails") / "welcome.eml"), "--json")
    data = json.loads(capsys.readouterr().out)
    assert CONTRACT_KEYS <= set(data)
    assert set(data) - CONTRACT_KEYS == {"reply_text", "ticket_number", "bounce"}
    assert data["from"] == {"name": "Sony Mathew", "email": "sony@chatwoot.com"}
    assert data["subject"] == "Discussion: Let's debate these attachments"
    assert data["in_reply_to"] == ["<4e6e35f5a38b4_479f13bb90078178@small-app-01.mail>"]
    assert [{k: a[k] for k in ("filename", "content_type", "size", "inline")} for a in data["attachments"]] == [
        {"filename": "avatar1.jpeg", "content_type": "image/jpg", "size": 20535, "inline": True},
        {"filename": "avatar2.jpg", "content_type": "image/jpg", "size": 12686, "inline": True},
    ]
    assert data["is_auto_reply"] is False and data["is_bounce"] is False
    assert Message.objects.count() == 0  # parse_email stores nothing


def test_parse_email_reads_stdin_and_fails_readably(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(make_email(From="x@example.com", Subject="S"))))
    call_command("parse_email", "-", "--json")
    assert json.loads(capsys.readouterr().out)["subject"] == "S"
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("parse_email", str(tmp_path / "nope.eml"), "--json")
    with pytest.raises(CommandError, match="directory"):
        call_command("parse_email", str(tmp_path), "--json")
