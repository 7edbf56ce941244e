"""An agent's email reply as the customer's mail client receives it (through aiosmtpd): the
earlier message quoted below the reply in both parts, inline images as multipart/related parts
next to the HTML, and the message's other files as attachments."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from django.core.files.base import ContentFile

from channels_inbox.management.commands.ingest_email import email_ingest_outcome
from tests.factories import IdentityFactory, TicketFactory, make_agent
from tickets.models import Attachment, DeliveryStatus, Message, Ticket
from tickets.services.delivery import message_deliver
from tickets.services.tickets import ticket_reply

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
LOGO = b"\x89PNG\r\n\x1a\n" + b"logo" * 16


def customer_email(unique: str, *, with_image: bool = False) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Ana Lima <ana-{unique}@customer.test>"
    msg["To"] = "support@helpdesk.test"
    msg["Subject"] = "Parcel missing"
    msg["Message-ID"] = f"<ana-{unique}@customer.test>"
    msg["Date"] = "Mon, 03 Feb 2025 10:00:00 +0000"
    msg.set_content("Hello, my parcel has not arrived.\nOrder 4411.\n")
    if with_image:
        msg.add_alternative(
            '<p>Hello, my parcel has <b>not</b> arrived.</p><p><img src="cid:label@customer.test"></p>', subtype="html"
        )
        msg.get_payload()[1].add_related(LOGO, "image", "png", cid="<label@customer.test>", filename="label.png")
        msg.add_attachment(b"%PDF-1.4 receipt", maintype="application", subtype="pdf", filename="receipt.pdf")
    return msg.as_bytes()


def attach(message: Message, filename: str, content_type: str, data: bytes, *, content_id: str = "") -> Attachment:
    attachment = Attachment(
        message=message,
        filename=filename,
        content_type=content_type,
        size=len(data),
        sha256="0" * 64,
        inline=bool(content_id),
        content_id=content_id,
    )
    attachment.file.save(filename, ContentFile(data), save=True)
    return attachment


def structure(part, depth: int = 0) -> list[str]:
    """The MIME tree as indented content types, the way a mail client walks it."""
    lines = ["  " * depth + part.get_content_type()]
    if part.is_multipart():
        for child in part.iter_parts():
            lines += structure(child, depth + 1)
    return lines


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_a_reply_quotes_the_customers_message_and_sends_its_inline_image_as_a_related_part(
    media, make_mailbox, smtp_server, unique
):
    make_mailbox(smtp=smtp_server)
    assert email_ingest_outcome(customer_email(unique)).startswith("new ticket #")
    ticket = Ticket.objects.get()
    agent = make_agent(f"carla-{unique}")
    reply = ticket_reply(
        ticket=ticket,
        author=agent,
        body_text="Here is where your parcel is.",
        body_html='<p>Here is where your parcel is:</p><p><img src="cid:map@helpdesk.test" alt="map"></p>',
    )
    attach(reply, "map.png", "image/png", PNG, content_id="map@helpdesk.test")
    attach(reply, "label.pdf", "application/pdf", b"%PDF-1.4 label")
    assert message_deliver(message_id=reply.pk) == DeliveryStatus.SENT
    [mail] = smtp_server.received
    out = mail.message

    assert structure(out) == [
        "multipart/mixed",
        "  multipart/alternative",
        "    text/plain",
        "    multipart/related",
        "      text/html",
        "      image/png",
        "  application/pdf",
    ]
    text = out.get_body(("plain",)).get_content().replace("\r\n", "\n")
    reply_at, quote_at = text.index("Here is where your parcel is."), text.index("Ana Lima wrote:")
    assert reply_at < quote_at
    assert "> Hello, my parcel has not arrived.\n> Order 4411." in text

    html = out.get_body(("html",)).get_content()
    assert html.index("Here is where your parcel is:") < html.index("Ana Lima wrote:")
    assert '<blockquote type="cite"' in html and "Hello, my parcel has not arrived." in html
    assert 'src="cid:map@helpdesk.test"' in html

    related = next(p for p in out.walk() if p.get_content_type() == "multipart/related")
    image = next(p for p in related.iter_parts() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == "<map@helpdesk.test>"
    assert image.get_content_disposition() == "inline" and image.get_content() == PNG
    [pdf] = list(out.iter_attachments())
    assert (pdf.get_filename(), pdf.get_content()) == ("label.pdf", b"%PDF-1.4 label")


def test_the_quoted_html_keeps_the_customers_inline_image_but_not_their_other_files(
    media, make_mailbox, smtp_server, unique
):
    make_mailbox(smtp=smtp_server)
    assert email_ingest_outcome(customer_email(unique, with_image=True)).startswith("new ticket #")
    ticket = Ticket.objects.get()
    reply = ticket_reply(ticket=ticket, author=make_agent(f"dora-{unique}"), body_text="We are on it.")
    assert message_deliver(message_id=reply.pk) == DeliveryStatus.SENT
    out = smtp_server.received[0].message

    assert structure(out) == [
        "multipart/alternative",
        "  text/plain",
        "  multipart/related",
        "    text/html",
        "    image/png",
    ]
    html = out.get_body(("html",)).get_content()
    assert html.index("We are on it.") < html.index('src="cid:label@customer.test"')
    image = next(p for p in out.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == "<label@customer.test>" and image.get_content() == LOGO
    assert list(out.iter_attachments()) == []  # receipt.pdf is the customer's own file: not sent back
    assert "> Hello, my parcel has not arrived." in out.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_a_first_message_from_us_quotes_nothing_and_a_second_quotes_our_first(media, make_mailbox, smtp_server, unique):
    make_mailbox(smtp=smtp_server)
    identity = IdentityFactory(value=f"kim-{unique}@customer.test")
    ticket = TicketFactory(channel="email", requester=identity.customer, subject="Your refund")
    agent = make_agent(f"eli-{unique}")
    agent.first_name, agent.last_name = "Eli", "Park"
    agent.save()
    first = ticket_reply(ticket=ticket, author=agent, body_text="Your refund was issued.")
    assert message_deliver(message_id=first.pk) == DeliveryStatus.SENT
    second = ticket_reply(ticket=ticket, author=agent, body_text="It should arrive within 5 days.")
    assert message_deliver(message_id=second.pk) == DeliveryStatus.SENT
    one, two = (mail.message for mail in smtp_server.received)
    assert "wrote:" not in one.get_body(("plain",)).get_content()
    assert one.get_content_type() == "multipart/alternative"
    text = two.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "Eli Park wrote:\n> Your refund was issued." in text


def test_an_internal_note_is_never_quoted_to_the_customer(media, make_mailbox, smtp_server, unique):
    make_mailbox(smtp=smtp_server)
    assert email_ingest_outcome(customer_email(unique)).startswith("new ticket #")
    ticket = Ticket.objects.get()
    agent = make_agent(f"fay-{unique}")
    ticket_reply(ticket=ticket, author=agent, body_text="Customer is a reseller, check the contract.", is_internal=True)
    reply = ticket_reply(ticket=ticket, author=agent, body_text="Thanks, checking.")
    assert message_deliver(message_id=reply.pk) == DeliveryStatus.SENT
    out = smtp_server.received[0].message
    for kind in ("plain", "html"):
        content = out.get_body((kind,)).get_content()
        assert "reseller" not in content and "Hello, my parcel has not arrived." in content
