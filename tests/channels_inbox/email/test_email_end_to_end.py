"""Email end to end on real servers: Dovecot holds the mail, a real Celery worker polls it into
tickets and sends replies through aiosmtpd, and what arrives there is checked the way the
customer's mail client reads it."""

from __future__ import annotations

import time

import pytest

from channels_inbox.models import Mailbox
from channels_inbox.tasks import email_mailbox_poll_task
from tests.factories import TeamFactory, make_agent
from tickets.models import AuthorKind, DeliveryStatus, Message, RawInbound, Ticket
from tickets.services.tickets import ticket_reply

from .mail_servers import make_email

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery]


def poll(mailbox: Mailbox) -> dict:
    return email_mailbox_poll_task.delay(mailbox.pk).get(timeout=60)


def wait_until(check, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def delivered(message: Message) -> Message:
    def sent():
        message.refresh_from_db()
        return message.delivery_status in (DeliveryStatus.SENT, DeliveryStatus.FAILED)

    wait_until(sent, what=f"delivery of message {message.pk}")
    return message


def dsn_for(original: bytes, *, recipient: str, unique: str) -> bytes:
    headers = original.split(b"\r\n\r\n", 1)[0]
    return (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.customer.test>\r\n"
        b"To: support@helpdesk.test\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"Message-ID: <bounce-" + unique.encode() + b"@mx.customer.test>\r\n"
        b"Auto-Submitted: auto-replied\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nI could not deliver your message.\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.customer.test\r\n\r\n"
        b"Final-Recipient: rfc822; " + recipient.encode() + b"\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 mailbox does not exist\r\n"
        b"--B\r\nContent-Type: text/rfc822-headers\r\n\r\n" + headers + b"\r\n"
        b"--B--\r\n"
    )


def test_mail_polled_answered_and_answered_back_threads_on_one_ticket(
    celery_worker, dovecot, imap_user, smtp_server, make_mailbox, email_signals, unique
):
    team = TeamFactory(name="Logistics")
    mailbox = make_mailbox(dovecot=dovecot, user=imap_user, smtp=smtp_server, default_team=team, is_default=True)
    ana, bo, away = (f"{name}-{unique}@customer.test" for name in ("ana", "bo", "away"))
    ana_id = f"<ana-1-{unique}@customer.test>"
    dovecot.append(imap_user, make_email(sender=f"Ana Lima <{ana}>", subject="Parcel missing", message_id=ana_id))
    dovecot.append(
        imap_user,
        make_email(sender=bo, subject="Invoice copy", message_id=f"<bo-1-{unique}@customer.test>", body="Need it."),
    )
    dovecot.append(
        imap_user,
        make_email(
            sender=away,
            subject="Out of office",
            message_id=f"<away-1-{unique}@customer.test>",
            body="I am away until Monday.",
            Auto_Submitted="auto-replied",
        ),
    )

    # First round: two tickets (the auto-reply opens none), all three marked read on the server.
    first = poll(mailbox)
    assert (first["fetched"], first["stored"], first["error"]) == (3, 3, "")
    tickets = {t.requester.identities.get().value: t for t in Ticket.objects.all()}
    assert set(tickets) == {ana, bo}
    assert tickets[ana].subject == "Parcel missing"
    assert all("\\Seen" in flags for _uid, flags in dovecot.messages(imap_user))

    # Each new customer gets one acknowledgement, marked automatic; the auto-reply gets none.
    acks = smtp_server.wait_for(2)
    assert sorted(rcpt for mail in acks for rcpt in mail.rcpt_tos) == sorted([ana, bo])
    ack_to_ana = next(mail.message for mail in acks if ana in mail.rcpt_tos)
    assert ack_to_ana["Auto-Submitted"] == "auto-generated"
    assert ack_to_ana["In-Reply-To"] == ana_id
    assert f"[#{tickets[ana].number}]" in ack_to_ana["Subject"]
    assert f"#{tickets[ana].number}" in ack_to_ana.get_body(("plain",)).get_content()
    # The mailbox's default team is set by the same after-commit step, before the acknowledgement.
    assert Ticket.objects.filter(team=team).count() == 2
    ack_message = delivered(Message.objects.get(ticket=tickets[ana], author_kind=AuthorKind.SYSTEM))
    assert ack_message.external_id == ack_to_ana["Message-ID"]

    # Polling again stores nothing twice, even when the UID bookkeeping is lost.
    counts = (RawInbound.objects.count(), Message.objects.count(), Ticket.objects.count())
    assert poll(mailbox)["fetched"] == 0
    Mailbox.objects.filter(pk=mailbox.pk).update(imap_last_uid=0, imap_uid_validity=None)
    again = poll(mailbox)
    assert (again["fetched"], again["stored"], again["duplicates"]) == (3, 0, 3)
    assert (RawInbound.objects.count(), Message.objects.count(), Ticket.objects.count()) == counts

    # The agent's reply leaves through SMTP with the headers a mail client threads on.
    agent = make_agent(f"carla-{unique}")
    agent.agent_profile.signature = "Carla, Acme Support"
    agent.agent_profile.save()
    reply = ticket_reply(ticket=tickets[ana], author=agent, body_text="We found your parcel; it ships today.")
    received = smtp_server.wait_for(3)
    assert len(received) == 3, "no acknowledgement may go out for the second poll"
    sent = received[2]
    assert sent.rcpt_tos == [ana] and sent.mail_from == "support@helpdesk.test"
    out = sent.message
    reply = delivered(reply)
    assert reply.delivery_status == DeliveryStatus.SENT
    assert out["Message-ID"] == reply.external_id and out["Message-ID"].endswith("@helpdesk.test>")
    assert out["In-Reply-To"] == ana_id
    assert out["References"].split() == [ana_id, ack_message.external_id]
    assert out["Subject"] == f"Re: Parcel missing [#{tickets[ana].number}]"
    assert out["Reply-To"] == f"Acme Support <support+t{tickets[ana].number}@helpdesk.test>"
    assert out["From"] == "Acme Support <support@helpdesk.test>"
    assert out["Auto-Submitted"] is None
    assert out.get_content_type() == "multipart/alternative"
    text = out.get_body(("plain",)).get_content()
    assert "We found your parcel; it ships today." in text and "Carla, Acme Support" in text
    assert "We found your parcel" in out.get_body(("html",)).get_content()
    # The customer's message is quoted below the reply, in both parts, as their client expects.
    assert text.index("We found your parcel") < text.index("Ana Lima wrote:")
    assert "> Hello, my parcel has not arrived." in text.replace("\r\n", "\n")
    assert "Ana Lima wrote:" in out.get_body(("html",)).get_content()

    # The customer's answer (threaded only by In-Reply-To) lands on the same ticket.
    answer_id = f"<ana-2-{unique}@customer.test>"
    dovecot.append(
        imap_user,
        make_email(
            sender=ana,
            subject="Thanks!",
            message_id=answer_id,
            body="Great, thank you.",
            In_Reply_To=reply.external_id,
        ),
    )
    assert poll(mailbox)["stored"] == 1
    answer = Message.objects.get(external_id=answer_id)
    assert answer.ticket_id == tickets[ana].pk and answer.body_text == "Great, thank you."
    assert Ticket.objects.count() == 2

    # A bounce of our reply marks it failed on its ticket and opens no ticket.
    dovecot.append(imap_user, dsn_for(sent.data, recipient=ana, unique=unique))
    assert poll(mailbox)["stored"] == 1
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert "5.1.1" in reply.delivery_error and "mailbox does not exist" in reply.delivery_error
    assert Ticket.objects.count() == 2

    # Neither the answer nor the bounce was acknowledged.
    time.sleep(1.0)
    assert len(smtp_server.received) == 3
