"""Mailboxes in the admin: passwords encrypted at rest and never shown back; the inbound token
shown once and stored only as a hash."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.fernet import Fernet
from django.contrib.messages import get_messages

from channels_inbox.email.credentials import CredentialUnreadable
from channels_inbox.email.mailboxes import mailbox_by_inbound_token
from channels_inbox.models import Mailbox
from tests.factories import TeamFactory
from tickets.services.agents import agent_create
from tickets.services.events import Actor

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/channels_inbox/mailbox/add/"
IMAP_SECRET = "imap-Pa55word-never-shown"
SMTP_SECRET = "smtp-Pa55word-never-shown"


@pytest.fixture
def staff_client(client):
    agent_create(
        username="boss", email="boss@helpdesk.test", role="admin", password="boss-pass-1", actor=Actor.system()
    )
    assert client.login(username="boss", password="boss-pass-1")
    return client


def form_data(**changes) -> dict:
    data = {
        "address": "help@acme.test",
        "display_name": "Acme Help",
        "default_team": str(TeamFactory().pk),
        "is_active": "on",
        "acknowledge_new_tickets": "on",
        "imap_host": "imap.acme.test",
        "imap_port": "993",
        "imap_ssl": "on",
        "imap_username": "help@acme.test",
        "imap_password": IMAP_SECRET,
        "imap_folder": "INBOX",
        "after_import": "seen",
        "after_import_folder": "",
        "smtp_host": "smtp.acme.test",
        "smtp_port": "587",
        "smtp_starttls": "on",
        "smtp_username": "help@acme.test",
        "smtp_password": SMTP_SECRET,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def change_url(mailbox: Mailbox) -> str:
    return f"/admin/channels_inbox/mailbox/{mailbox.pk}/change/"


def test_passwords_are_stored_encrypted_and_never_rendered_back(staff_client):
    response = staff_client.post(ADD_URL, form_data())
    assert response.status_code == 302, response.content.decode()[:2000]
    mailbox = Mailbox.objects.get()
    assert mailbox.imap_password_encrypted and IMAP_SECRET not in mailbox.imap_password_encrypted
    assert mailbox.smtp_password_encrypted and SMTP_SECRET not in mailbox.smtp_password_encrypted
    assert (mailbox.imap_password, mailbox.smtp_password) == (IMAP_SECRET, SMTP_SECRET)

    page = staff_client.get(change_url(mailbox)).content.decode()
    assert "imap.acme.test" in page and "set (hidden)" in page
    for secret in (IMAP_SECRET, SMTP_SECRET, mailbox.imap_password_encrypted, mailbox.smtp_password_encrypted):
        assert secret not in page
    listing = staff_client.get("/admin/channels_inbox/mailbox/").content.decode()
    assert IMAP_SECRET not in listing and mailbox.imap_password_encrypted not in listing


def test_a_blank_password_keeps_the_stored_one_and_clearing_removes_it(staff_client):
    staff_client.post(ADD_URL, form_data())
    mailbox = Mailbox.objects.get()
    response = staff_client.post(change_url(mailbox), form_data(imap_password="", smtp_password="", imap_port="143"))
    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.imap_port == 143
    assert (mailbox.imap_password, mailbox.smtp_password) == (IMAP_SECRET, SMTP_SECRET)

    staff_client.post(
        change_url(mailbox), form_data(imap_password="new-one", smtp_password="", smtp_password_clear="on")
    )
    mailbox.refresh_from_db()
    assert (mailbox.imap_password, mailbox.smtp_password, mailbox.smtp_password_encrypted) == ("new-one", "", "")


def test_contradictory_settings_are_explained(staff_client):
    response = staff_client.post(ADD_URL, form_data(after_import="move", smtp_ssl="on"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Name the folder imported mail is moved to." in page
    assert "Choose either SSL/TLS or STARTTLS, not both." in page
    assert Mailbox.objects.count() == 0


def test_the_inbound_token_is_shown_once_and_stored_as_a_hash(staff_client):
    staff_client.post(ADD_URL, form_data())
    mailbox = Mailbox.objects.get()
    response = staff_client.post(
        "/admin/channels_inbox/mailbox/",
        {"action": "inbound_token_generate", "_selected_action": [str(mailbox.pk)]},
    )
    assert response.status_code == 302
    [notice] = [str(m) for m in get_messages(response.wsgi_request) if "inbound token" in str(m)]
    token = notice.split("shown only this once: ")[1].split(". ")[0]
    mailbox.refresh_from_db()
    assert mailbox.inbound_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert mailbox_by_inbound_token(token) == mailbox
    assert token in staff_client.get(change_url(mailbox)).content.decode()  # the one showing
    page = staff_client.get(change_url(mailbox)).content.decode()
    assert token not in page and "only its hash is stored" in page


def test_credentials_use_the_configured_key_and_a_changed_key_is_a_readable_error(settings):
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
    mailbox = Mailbox(address="k@acme.test")
    mailbox.imap_password = "s3cret"
    mailbox.save()
    assert Fernet(settings.FIELD_ENCRYPTION_KEY.encode()).decrypt(mailbox.imap_password_encrypted.encode()) == b"s3cret"

    # Rotation: a new first key encrypts, the old one still decrypts.
    old = settings.FIELD_ENCRYPTION_KEY
    settings.FIELD_ENCRYPTION_KEY = f"{Fernet.generate_key().decode()},{old}"
    assert Mailbox.objects.get().imap_password == "s3cret"

    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
    with pytest.raises(CredentialUnreadable, match="Enter the password again"):
        _ = Mailbox.objects.get().imap_password
