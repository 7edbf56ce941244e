"""An email cut for size is kept, the agent reads why, and the sender is told once (by an
automatic, loop-safe email naming the limit, through a real SMTP server)."""

from __future__ import annotations

import pytest
from django.template.defaultfilters import filesizeformat

from channels_inbox.email.imap import mailbox_poll
from channels_inbox.email.parser import email_parse
from channels_inbox.email.size_notice import SIZE_NOTICE_KIND, size_notice_send
from channels_inbox.management.commands.ingest_email import email_ingest_outcome
from tests.factories import IdentityFactory, TicketFactory
from tickets.models import AuthorKind, DeliveryStatus, Message, Ticket

from .mail_servers import make_email

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 4000


def big_email(sender: str, message_id: str, *, size: int = 3 * LIMIT, **headers: str) -> bytes:
    return make_email(sender=sender, subject="Photos of the damage", message_id=message_id, body="x" * size, **headers)


def plain(mail) -> str:
    """The text part as the customer reads it (sizes keep their non-breaking space)."""
    return mail.get_body(("plain",)).get_content().replace("\r\n", "\n")


def notices() -> list[Message]:
    return list(Message.objects.filter(author_kind=AuthorKind.SYSTEM, metadata__kind=SIZE_NOTICE_KIND))


@pytest.fixture
def small_limit(settings):
    settings.HELPDESK_MAX_EMAIL_BYTES = LIMIT


@pytest.fixture
def quiet_mailbox(make_mailbox, smtp_server):
    """A mailbox that sends no acknowledgements, so the only mail out is the notice."""
    return make_mailbox(smtp=smtp_server, acknowledge_new_tickets=False)


def test_an_oversized_email_is_kept_the_agent_reads_why_and_the_sender_is_told_the_limit(
    small_limit, quiet_mailbox, smtp_server, email_signals, unique
):
    sender = f"lia-{unique}@customer.test"
    raw = big_email(f"Lia <{sender}>", f"<big-{unique}@c.test>")
    assert email_ingest_outcome(raw).startswith("new ticket #")
    ticket = Ticket.objects.get()
    message = ticket.messages.get(direction="inbound")
    assert ticket.subject == "Photos of the damage"
    assert filesizeformat(len(raw)) in message.body_text and filesizeformat(LIMIT) in message.body_text
    assert "only its headers" in message.body_text and "x" * 100 not in message.body_text
    assert bytes(message.raw.payload) == raw  # the original is kept whole

    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == [sender]
    out = mail.message
    assert out["Auto-Submitted"] == "auto-generated" and out["X-Auto-Response-Suppress"] == "All"
    assert out["In-Reply-To"] == f"<big-{unique}@c.test>"
    assert f"[#{ticket.number}]" in out["Subject"]
    text = plain(out)
    assert f"larger than the {filesizeformat(LIMIT)} we can accept for one email" in text
    assert '"Photos of the damage"' in text and f"ticket #{ticket.number}" in text
    # The quote of the customer's message is not repeated in an automatic notice.
    assert "wrote:" not in text
    [notice] = notices()
    assert notice.delivery_status == DeliveryStatus.SENT and notice.metadata["recipient"] == sender
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None  # a notice is not an answer


def test_one_notice_per_sender_per_hour_and_never_twice_for_one_message(
    small_limit, quiet_mailbox, smtp_server, email_signals, unique
):
    sender, other = f"max-{unique}@customer.test", f"ivy-{unique}@customer.test"
    for index in range(3):
        assert email_ingest_outcome(big_email(sender, f"<m{index}-{unique}@c.test>")).startswith("new ticket #")
    email_ingest_outcome(big_email(other, f"<ivy-{unique}@c.test>"))
    received = smtp_server.wait_for(2)
    assert sorted(r for mail in received for r in mail.rcpt_tos) == sorted([sender, other])
    assert Ticket.objects.count() == 4  # every message is still kept

    first = Message.objects.get(external_id=f"<m0-{unique}@c.test>")
    assert size_notice_send(message=first) == "skipped: already told"
    third = Message.objects.get(external_id=f"<m2-{unique}@c.test>")
    assert size_notice_send(message=third) == f"skipped: {sender} was already told within the hour"
    assert len(smtp_server.wait_for(3, timeout=1.0)) == 2


def test_automatic_bulk_and_system_senders_are_never_told(
    small_limit, quiet_mailbox, smtp_server, email_signals, unique
):
    ticket = TicketFactory(channel="email", subject="Order 9")
    IdentityFactory(customer=ticket.requester, value=f"vera-{unique}@customer.test")
    ours = Message.objects.create(
        ticket=ticket,
        direction="outbound",
        author_kind=AuthorKind.AGENT,
        channel="email",
        external_id=f"<out-{unique}@helpdesk.test>",
        delivery_status=DeliveryStatus.SENT,
    )
    # Oversized automatic mail answering our message threads onto the ticket, but is not answered.
    auto = big_email(
        f"vera-{unique}@customer.test",
        f"<a-{unique}@c.test>",
        In_Reply_To=ours.external_id,
        Auto_Submitted="auto-replied",
    )
    assert email_ingest_outcome(auto) == f"added to ticket #{ticket.number}"
    bulk = big_email(
        f"list-{unique}@lists.test", f"<b-{unique}@c.test>", In_Reply_To=ours.external_id, Precedence="bulk"
    )
    assert email_ingest_outcome(bulk) == f"added to ticket #{ticket.number}"
    # A no-reply sender is not flagged automatic by its headers, but is never answered either.
    assert email_ingest_outcome(big_email(f"no-reply@shop-{unique}.test", f"<n-{unique}@c.test>")).startswith(
        "new ticket #"
    )
    assert smtp_server.wait_for(1, timeout=1.5) == []
    assert notices() == []
    cut = Message.objects.get(external_id=f"<a-{unique}@c.test>")
    assert "only its headers" in cut.body_text  # the agent still reads why it was cut


def test_an_attachment_over_the_file_limit_is_named_in_the_notice(
    settings, quiet_mailbox, smtp_server, email_signals, unique, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    settings.HELPDESK_MAX_ATTACHMENT_BYTES = 1000
    from email.message import EmailMessage

    sender = f"otto-{unique}@customer.test"
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "support@helpdesk.test", "Invoice"
    msg["Message-ID"] = f"<att-{unique}@c.test>"
    msg.set_content("Invoice and a scan attached.")
    msg.add_attachment(b"%PDF-1.4 small", maintype="application", subtype="pdf", filename="invoice.pdf")
    msg.add_attachment(b"\xff\xd8" + b"\0" * 5000, maintype="image", subtype="jpeg", filename="scan.jpg")
    assert email_ingest_outcome(msg.as_bytes()).startswith("new ticket #")

    message = Message.objects.get(external_id=f"<att-{unique}@c.test>")
    assert message.body_text == "Invoice and a scan attached."
    stored = {a.filename: a.stored for a in message.attachments.all()}
    assert stored == {"invoice.pdf": True, "scan.jpg": False}
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == [sender]
    text = plain(mail.message)
    assert f"scan.jpg ({filesizeformat(5002)})" in text and "invoice.pdf" not in text
    assert f"larger than the {filesizeformat(1000)} we can accept for one file" in text


def test_imap_fetches_only_the_start_of_a_huge_email_and_the_agent_sees_its_real_size(
    settings, dovecot, imap_user, make_mailbox, smtp_server, email_signals, unique
):
    settings.HELPDESK_MAX_EMAIL_BYTES = 20_000
    mailbox = make_mailbox(dovecot=dovecot, user=imap_user, smtp=smtp_server, acknowledge_new_tickets=False)
    sender = f"huge-{unique}@customer.test"
    raw = big_email(sender, f"<huge-{unique}@c.test>", size=300_000)
    dovecot.append(imap_user, raw)
    result = mailbox_poll(mailbox_id=mailbox.pk)
    assert (result.fetched, result.stored, result.error) == (1, 1, "")
    message = Message.objects.get(external_id=f"<huge-{unique}@c.test>")
    assert len(bytes(message.raw.payload)) == 20_001  # never more than the limit was fetched
    assert filesizeformat(len(raw)) in message.body_text and filesizeformat(20_000) in message.body_text
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == [sender]
    assert filesizeformat(len(raw)) in plain(mail.message)


def test_the_parser_reports_the_declared_size_of_a_message_fetched_in_part():
    head = b"From: a@example.com\r\nSubject: big\r\n\r\n" + b"x" * 2000
    parsed = email_parse(head, max_bytes=1000, declared_size=10 * 1024 * 1024)
    assert (parsed.size_bytes, parsed.size_limit) == (10 * 1024 * 1024, 1000)
    assert filesizeformat(10 * 1024 * 1024) in parsed.body_text and parsed.truncated == parsed.body_text
