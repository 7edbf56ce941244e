"""IMAP polling against a real Dovecot: after-import actions, failures recorded readably and
retried, the per-mailbox lock, and the beat dispatcher's one task per mailbox."""

from __future__ import annotations

import pytest

from channels_inbox.email.imap import mailbox_poll, mailbox_poll_lock
from channels_inbox.models import AfterImport, Mailbox
from channels_inbox.tasks import email_mailboxes_poll_task
from tickets.models import Message, RawInbound, RawInboundStatus, Ticket

from .mail_servers import IMAP_PASSWORD, free_port, make_email

pytestmark = pytest.mark.django_db


def test_imported_mail_is_moved_to_the_chosen_folder(dovecot, imap_user, make_mailbox, unique):
    mailbox = make_mailbox(dovecot=dovecot, user=imap_user, after_import=AfterImport.MOVE, after_import_folder="Done")
    dovecot.append(imap_user, make_email(sender=f"kim-{unique}@customer.test", subject="Hi", message_id="<k1@c.test>"))
    result = mailbox_poll(mailbox_id=mailbox.pk)
    assert (result.fetched, result.stored, result.error) == (1, 1, "")
    assert dovecot.messages(imap_user) == []
    assert len(dovecot.messages(imap_user, "Done")) == 1
    assert Ticket.objects.get().subject == "Hi"
    mailbox.refresh_from_db()
    assert mailbox.imap_last_uid == 1 and mailbox.imap_uid_validity and mailbox.last_polled_at


def test_an_unprocessable_message_is_kept_raw_and_the_rest_still_imported(dovecot, imap_user, make_mailbox, unique):
    mailbox = make_mailbox(dovecot=dovecot, user=imap_user)
    dovecot.append(
        imap_user, b"To: support@helpdesk.test\r\nSubject: no sender\r\nMessage-ID: <nf@x.test>\r\n\r\nHi\r\n"
    )
    dovecot.append(imap_user, make_email(sender=f"lee-{unique}@customer.test", subject="Ok", message_id="<ok@c.test>"))
    result = mailbox_poll(mailbox_id=mailbox.pk)
    assert (result.fetched, result.stored, result.failed) == (2, 2, 1)
    assert RawInbound.objects.get(external_id="<nf@x.test>").status == RawInboundStatus.FAILED
    assert Ticket.objects.get().subject == "Ok"
    assert all("\\Seen" in flags for _uid, flags in dovecot.messages(imap_user))


def test_a_login_failure_is_recorded_readably_and_the_next_round_retries(dovecot, imap_user, make_mailbox, unique):
    mailbox = make_mailbox(dovecot=dovecot, user=imap_user)
    mailbox.imap_password = "wrong password"
    mailbox.save()
    dovecot.append(imap_user, make_email(sender=f"mo-{unique}@customer.test", subject="Help", message_id="<m@c.test>"))

    result = mailbox_poll(mailbox_id=mailbox.pk)
    mailbox.refresh_from_db()
    assert result.fetched == 0
    assert mailbox.last_error.startswith(f"Login to 127.0.0.1:{dovecot.port} as {imap_user} failed:")
    assert "authentication failed" in mailbox.last_error.lower()
    assert mailbox.last_error_at is not None
    assert "\\Seen" not in dovecot.messages(imap_user)[0][1]

    mailbox.imap_password = IMAP_PASSWORD
    mailbox.save()
    assert mailbox_poll(mailbox_id=mailbox.pk).stored == 1
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""


def test_an_unreachable_server_is_recorded_readably(make_mailbox):
    mailbox = make_mailbox(imap_host="127.0.0.1", imap_port=free_port(), imap_ssl=False, imap_username="x")
    result = mailbox_poll(mailbox_id=mailbox.pk)
    mailbox.refresh_from_db()
    assert result.error == mailbox.last_error
    assert mailbox.last_error.startswith(f"Could not connect to the IMAP server 127.0.0.1:{mailbox.imap_port}:")
    assert "refused" in mailbox.last_error.lower()


def test_a_mailbox_being_polled_is_not_polled_again_at_the_same_time(dovecot, imap_user, make_mailbox, unique):
    mailbox = make_mailbox(dovecot=dovecot, user=imap_user)
    dovecot.append(imap_user, make_email(sender=f"nu-{unique}@customer.test", subject="Hey", message_id="<n@c.test>"))
    with mailbox_poll_lock(mailbox.pk) as held:
        assert held
        result = mailbox_poll(mailbox_id=mailbox.pk)
        assert result.skipped == "another worker is polling this mailbox" and result.fetched == 0
    assert Message.objects.count() == 0
    assert mailbox_poll(mailbox_id=mailbox.pk).stored == 1


def test_the_dispatcher_polls_each_active_mailbox_on_its_own(dovecot, make_mailbox, unique):
    users = [f"a-{unique}", f"b-{unique}", f"c-{unique}"]
    first = make_mailbox(address="one@helpdesk.test", dovecot=dovecot, user=users[0])
    second = make_mailbox(address="two@helpdesk.test", dovecot=dovecot, user=users[1])
    make_mailbox(address="off@helpdesk.test", dovecot=dovecot, user=users[2], is_active=False)
    make_mailbox(address="sendonly@helpdesk.test")  # no IMAP host: never polled
    for index, user in enumerate(users):
        dovecot.append(
            user, make_email(sender=f"p{index}-{unique}@customer.test", subject=f"S{index}", message_id=f"<d{index}@c>")
        )
    # A broken mailbox does not hold up the others.
    Mailbox.objects.filter(pk=first.pk).update(imap_port=free_port())

    assert email_mailboxes_poll_task.delay().get() == 2
    assert list(Ticket.objects.values_list("subject", flat=True)) == ["S1"]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.last_error.startswith("Could not connect") and second.last_error == ""
