"""Outbound email through a real SMTP server (aiosmtpd): what a refusal does, and the
acknowledgement of new tickets (once, never to an auto-reply, rate-limited per sender)."""

from __future__ import annotations

import pytest

from channels_inbox.email.acknowledgement import ack_limit_per_hour
from channels_inbox.management.commands.ingest_email import email_ingest_outcome
from tests.factories import IdentityFactory, TicketFactory, make_agent
from tickets.customer_messages import ticket_received_text
from tickets.models import AuthorKind, DeliveryStatus, Message, Ticket
from tickets.outbound import DeliveryRetry
from tickets.services.delivery import message_deliver
from tickets.services.tickets import ticket_reply

from .mail_servers import free_port, make_email

pytestmark = pytest.mark.django_db


def reply_to(address: str, text: str = "Here is what we found.") -> Message:
    identity = IdentityFactory(value=address)
    ticket = TicketFactory(channel="email", requester=identity.customer, subject="Order 55")
    return ticket_reply(ticket=ticket, author=make_agent(f"agent-{address.partition('@')[0]}"), body_text=text)


def test_a_permanent_refusal_fails_the_message_with_the_servers_reason(make_mailbox, smtp_server):
    make_mailbox(smtp=smtp_server)
    message = reply_to("reject@customer.test")
    assert message_deliver(message_id=message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert message.delivery_error.startswith(f"The mail server 127.0.0.1:{smtp_server.port} refused the recipient:")
    assert "550 5.1.1" in message.delivery_error and "User unknown" in message.delivery_error
    assert smtp_server.received == []


def test_a_temporary_refusal_is_retried_then_fails_visibly_on_the_last_attempt(make_mailbox, smtp_server):
    make_mailbox(smtp=smtp_server)
    message = reply_to("later@customer.test")
    with pytest.raises(DeliveryRetry, match="451 4.3.0"):
        message_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.QUEUED and "451" in message.delivery_error
    assert message_deliver(message_id=message.pk, final_attempt=True) == DeliveryStatus.FAILED


def test_an_unreachable_smtp_server_is_a_temporary_failure(make_mailbox):
    make_mailbox(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_starttls=False)
    message = reply_to("kai@customer.test")
    with pytest.raises(DeliveryRetry, match="Could not talk to the mail server"):
        message_deliver(message_id=message.pk)


def test_without_a_mailbox_email_cannot_go_and_the_ticket_says_why(email_adapter):
    message = reply_to("noone@customer.test")
    assert message_deliver(message_id=message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert message.delivery_error.startswith("No mailbox is set up to send email")


def test_a_reply_carries_the_tickets_attachments_and_goes_to_followers_too(
    make_mailbox, smtp_server, settings, tmp_path
):
    from django.core.files.base import ContentFile

    from tickets.models import Attachment

    settings.MEDIA_ROOT = tmp_path
    make_mailbox(smtp=smtp_server)
    message = reply_to("ines@customer.test")
    message.ticket.followers.add(IdentityFactory(value="boss@customer.test").customer)
    attachment = Attachment(
        message=message, filename="label.pdf", content_type="application/pdf", size=9, sha256="0" * 64
    )
    attachment.file.save("label.pdf", ContentFile(b"%PDF-1.4\n"), save=True)
    assert message_deliver(message_id=message.pk) == DeliveryStatus.SENT
    [mail] = smtp_server.received
    assert sorted(mail.rcpt_tos) == ["boss@customer.test", "ines@customer.test"]
    parsed = mail.message
    assert parsed["Cc"] == "boss@customer.test"
    [part] = list(parsed.iter_attachments())
    assert (part.get_filename(), part.get_content_type(), part.get_content()) == (
        "label.pdf",
        "application/pdf",
        b"%PDF-1.4\n",
    )


# --- Acknowledgements -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_new_customer_is_acknowledged_once_with_the_customer_text(make_mailbox, smtp_server, email_signals, unique):
    make_mailbox(smtp=smtp_server)
    sender = f"rosa-{unique}@customer.test"
    raw = make_email(sender=f"Rosa <{sender}>", subject="Pedido", message_id=f"<r1-{unique}@c.test>")
    assert email_ingest_outcome(raw).startswith("new ticket #")
    ticket = Ticket.objects.get()
    # A second message on the same ticket is not a new ticket: no second acknowledgement.
    again = make_email(sender=sender, subject=f"Re: [#{ticket.number}] Pedido", message_id=f"<r2-{unique}@c.test>")
    assert email_ingest_outcome(again) == f"added to ticket #{ticket.number}"
    [ack] = smtp_server.wait_for(1)
    assert ack.rcpt_tos == [sender]
    assert ack.message["Auto-Submitted"] == "auto-generated"
    assert ticket_received_text(ticket) in ack.message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    ack_message = Message.objects.get(author_kind=AuthorKind.SYSTEM)
    assert ack_message.delivery_status == DeliveryStatus.SENT and ack_message.metadata["kind"] == "acknowledgement"
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None  # an acknowledgement is not a response
    assert len(smtp_server.received) == 1


@pytest.mark.django_db(transaction=True)
def test_an_auto_reply_is_never_acknowledged(make_mailbox, smtp_server, email_signals, unique):
    make_mailbox(smtp=smtp_server)
    ticket = TicketFactory(channel="email", subject="Order 9")
    IdentityFactory(customer=ticket.requester, value=f"vera-{unique}@customer.test")
    make_agent(f"agent-{unique}")
    outbound = Message.objects.create(
        ticket=ticket,
        direction="outbound",
        author_kind=AuthorKind.AGENT,
        channel="email",
        external_id=f"<out-{unique}@helpdesk.test>",
        delivery_status=DeliveryStatus.SENT,
    )
    # An out-of-office answering our message threads onto the ticket but is not acknowledged;
    # one answering nothing opens no ticket at all.
    ooo = make_email(
        sender=f"vera-{unique}@customer.test",
        subject="Automatic reply: Order 9",
        message_id=f"<ooo-{unique}@c.test>",
        In_Reply_To=outbound.external_id,
        Auto_Submitted="auto-replied",
    )
    assert email_ingest_outcome(ooo) == f"added to ticket #{ticket.number}"
    stray = make_email(
        sender=f"walt-{unique}@customer.test",
        subject="Out of office",
        message_id=f"<ooo2-{unique}@c.test>",
        X_Autoreply="yes",
    )
    assert email_ingest_outcome(stray).startswith("ignored auto-reply")
    # A new ticket whose first message is flagged automatic (bulk mail) is not acknowledged either.
    bulk = make_email(
        sender=f"news-{unique}@customer.test", subject="Newsletter", message_id=f"<b-{unique}@c>", Precedence="bulk"
    )
    email_ingest_outcome(bulk)
    assert smtp_server.wait_for(1, timeout=1.5) == []
    assert not Message.objects.filter(author_kind=AuthorKind.SYSTEM).exists()


@pytest.mark.django_db(transaction=True)
def test_acknowledgements_to_one_sender_are_rate_limited(make_mailbox, smtp_server, email_signals, unique):
    make_mailbox(smtp=smtp_server)
    sender = f"flood-{unique}@customer.test"
    limit = ack_limit_per_hour()
    for index in range(limit + 2):
        raw = make_email(sender=sender, subject=f"Problem {index}", message_id=f"<f{index}-{unique}@c.test>")
        assert email_ingest_outcome(raw).startswith("new ticket #")
    other = f"calm-{unique}@customer.test"
    email_ingest_outcome(make_email(sender=other, subject="One", message_id=f"<calm-{unique}@c.test>"))
    received = smtp_server.wait_for(limit + 1)
    assert sorted(r for mail in received for r in mail.rcpt_tos) == sorted([sender] * limit + [other])
    assert Ticket.objects.count() == limit + 3
