"""POST /inbound/email/: a raw message from an MTA pipe, authenticated by the mailbox's token."""

from __future__ import annotations

import pytest

from channels_inbox.email.mailboxes import mailbox_inbound_token_issue
from tickets.models import RawInbound, RawInboundStatus, Ticket

from .mail_servers import make_email

pytestmark = pytest.mark.django_db

URL = "/inbound/email/"


@pytest.fixture
def token(make_mailbox):
    return mailbox_inbound_token_issue(mailbox=make_mailbox())


def post(client, body: bytes, *, auth: str | None, content_type: str = "message/rfc822", **extra):
    headers = {"HTTP_AUTHORIZATION": auth} if auth is not None else {}
    return client.post(URL, data=body, content_type=content_type, **headers, **extra)


def test_a_message_is_stored_first_then_processed_after_commit(client, token, django_capture_on_commit_callbacks):
    raw = make_email(sender="pia@customer.test", subject="Broken zipper", message_id="<pia-1@c.test>")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(client, raw, auth=f"Bearer {token}")
    assert response.status_code == 202
    stored = RawInbound.objects.get()
    assert response.json() == {"raw_id": stored.pk, "status": "accepted"}
    assert bytes(stored.payload) == raw and stored.status == RawInboundStatus.RECEIVED
    assert stored.meta["source"] == "http" and stored.meta["mailbox_id"]
    assert Ticket.objects.count() == 0  # nothing parsed in the request

    for callback in callbacks:  # what the worker does after commit
        callback()
    stored.refresh_from_db()
    assert stored.status == RawInboundStatus.PROCESSED
    assert Ticket.objects.get().subject == "Broken zipper"


def test_the_same_message_posted_again_is_a_duplicate(client, token, django_capture_on_commit_callbacks):
    raw = make_email(sender="pia@customer.test", subject="Twice", message_id="<pia-2@c.test>")
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, raw, auth=f"Token {token}")
    second = post(client, raw, auth=f"Bearer {token}")
    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json() == {"raw_id": first.json()["raw_id"], "status": "duplicate"}
    assert RawInbound.objects.get().deliveries == 2 and Ticket.objects.count() == 1


@pytest.mark.parametrize("auth", [None, "Bearer", "Bearer not-the-token", "Basic dXNlcjpwdw=="])
def test_a_missing_or_wrong_token_is_refused(client, token, auth):
    response = post(client, make_email(sender="x@c.test", subject="S", message_id="<x@c>"), auth=auth)
    assert response.status_code == 401
    assert "token" in response.json()["error"].lower()
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert RawInbound.objects.count() == 0


def test_the_token_of_an_inactive_mailbox_is_refused(client, make_mailbox):
    mailbox = make_mailbox(address="old@helpdesk.test", is_active=False)
    token = mailbox_inbound_token_issue(mailbox=mailbox)
    assert post(client, b"From: a@b.c\r\n\r\nx", auth=f"Bearer {token}").status_code == 401


def test_a_message_over_the_size_limit_is_refused_with_a_clear_error(client, token, settings):
    settings.HELPDESK_MAX_EMAIL_BYTES = 1000
    raw = make_email(sender="big@c.test", subject="Big", message_id="<big@c>", body="x" * 2000)
    response = post(client, raw, auth=f"Bearer {token}")
    assert response.status_code == 413
    assert response.json() == {"error": "The message is larger than the limit of 1000 bytes.", "limit_bytes": 1000}
    assert RawInbound.objects.count() == 0


def test_a_message_larger_than_djangos_form_limit_is_taken(client, token, settings, django_capture_on_commit_callbacks):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    raw = make_email(sender="long@c.test", subject="Long", message_id="<long@c>", body="y" * 5000)
    assert post(client, raw, auth=f"Bearer {token}").status_code == 202


def test_a_form_post_is_refused_with_a_hint(client, token):
    response = client.post(URL, data={"a": "b"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 415
    assert "message/rfc822" in response.json()["error"]


def test_only_post_is_allowed(client, token):
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 405


def test_create_mailbox_token_prints_a_token_that_the_endpoint_accepts(make_mailbox, client, capsys):
    from django.core.management import CommandError, call_command

    mailbox = make_mailbox()
    call_command("create_mailbox_token", mailbox.address.upper())
    token = capsys.readouterr().out.strip()
    raw = (
        b"From: t@example.com\r\nTo: support@example.com\r\nSubject: via pipe\r\n"
        b"Message-ID: <tok-1@x>\r\n\r\nHello\r\n"
    )
    response = client.post(
        "/inbound/email/", data=raw, content_type="message/rfc822", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 202
    with pytest.raises(CommandError, match="No mailbox nobody@x"):
        call_command("create_mailbox_token", "nobody@x")
