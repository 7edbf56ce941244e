"""The confirmation email's secure link to the request, and the language of customer pages."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from channels_inbox.models import Mailbox
from portal.services import ticket_link_token
from tests.factories import CustomerFactory, IdentityFactory, TicketFactory, make_customer_user
from tickets.models import Customer, Message, Ticket

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Ana Lima",
    "email": "ana@example.com",
    "subject": "Printer on fire",
    "category": "problem",
    "description": "It smokes when I print.",
    "website": "",
}


@pytest.fixture
def mailbox():
    return Mailbox.objects.create(address="support@acme.example", is_default=True, smtp_host="127.0.0.1")


def link_path(text: str) -> str:
    return re.search(r"https?://[^/\s]+(/support/request/\S+/)", text).group(1)


def test_confirmation_email_carries_a_secure_link_that_shows_the_request(client, mailbox):
    client.post("/support/", FORM, HTTP_ACCEPT_LANGUAGE="en")
    ticket = Ticket.objects.get()
    Message.objects.create(
        ticket=ticket, direction="outbound", author_kind="agent", channel="internal", body_text="VIP", is_internal=True
    )
    ack = Message.objects.get(ticket=ticket, metadata__kind="acknowledgement")
    assert f"#{ticket.number}" in ack.body_text and "Follow your request online" in ack.body_text
    path = link_path(ack.body_text)

    stranger = Client()
    page = stranger.get(path)
    assert page.status_code == 200 and page["Cache-Control"] == "private, no-store"
    text = page.content.decode()
    assert "Printer on fire" in text and "It smokes when I print." in text and "VIP" not in text
    assert "Send reply" not in text and "Sign in</a> to reply" in text
    # The link signs nobody in.
    assert stranger.get(f"/support/tickets/{ticket.number}/").status_code == 302


def test_the_link_is_in_the_customers_language(client, mailbox):
    client.post("/support/", FORM, HTTP_ACCEPT_LANGUAGE="ru")
    ticket = Ticket.objects.get()
    assert ticket.requester.language == "ru"
    ack = Message.objects.get(ticket=ticket, metadata__kind="acknowledgement")
    assert "/support/request/" in ack.body_text
    assert 'lang="ru"' in Client().get(link_path(ack.body_text)).content.decode()


def test_forged_expired_or_reassigned_links_are_refused():
    ticket = TicketFactory(subject="Mine")
    token = ticket_link_token(ticket)
    assert Client().get(f"/support/request/{token}/").status_code == 200
    assert Client().get(f"/support/request/{token[:-2]}xx/").status_code == 404
    other = TicketFactory(subject="Not yours")
    data = json.dumps({"t": other.pk, "c": other.requester_id}, separators=(",", ":")).encode()
    forged = base64.urlsafe_b64encode(data).rstrip(b"=").decode() + token[token.index(":") :]
    assert Client().get(f"/support/request/{forged}/").status_code == 404
    later = timezone.now() + timedelta(days=31)
    with mock.patch("django.core.signing.time.time", return_value=later.timestamp()):
        assert Client().get(f"/support/request/{token}/").status_code == 404
    ticket.requester = CustomerFactory()
    ticket.save()
    refused = Client().get(f"/support/request/{token}/")
    assert refused.status_code == 404 and "Mine" not in refused.content.decode()


def test_signed_in_owner_goes_to_the_full_page(client):
    customer = CustomerFactory()
    make_customer_user(customer)
    ticket = TicketFactory(requester=customer)
    client.force_login(customer.user)
    response = client.get(f"/support/request/{ticket_link_token(ticket)}/")
    assert response.status_code == 302 and response["Location"] == f"/support/tickets/{ticket.number}/"


def test_email_tickets_acknowledgements_are_left_alone(mailbox):
    from channels_inbox.email.acknowledgement import acknowledgement_send

    customer = CustomerFactory()
    IdentityFactory(customer=customer, value="eve@example.com")
    ticket = TicketFactory(requester=customer, channel="email")
    first = Message.objects.create(ticket=ticket, direction="inbound", author_kind="customer", channel="email")
    assert acknowledgement_send(message=first, mailbox=mailbox) == "queued"
    ack = Message.objects.get(ticket=ticket, metadata__kind="acknowledgement")
    assert "/support/request/" not in ack.body_text


# --- Language ---------------------------------------------------------------------------------------


def test_language_selector_is_remembered_for_visitors(client):
    page = client.get("/support/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="language"' in page and "Русский" in page and "Português" in page
    response = client.post("/support/language/", {"language": "ru", "next": "/support/login/"})
    assert response.status_code == 302 and response["Location"] == "/support/login/"
    again = client.get("/support/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="ru"' in again and "Sign in with a password instead" not in again


def test_signed_in_customer_language_is_saved_on_their_record(client):
    customer = CustomerFactory(language="en")
    make_customer_user(customer)
    client.force_login(customer.user)
    client.post("/support/language/", {"language": "pt-br", "next": "/support/tickets/"})
    assert Customer.objects.get(pk=customer.pk).language == "pt-br"
    assert 'lang="pt-br"' in client.get("/support/tickets/").content.decode()


def test_language_selector_refuses_other_sites_and_unknown_languages(client):
    response = client.post("/support/language/", {"language": "de", "next": "https://evil.example/"})
    assert response["Location"] == "/support/"
    assert "django_language" not in response.cookies


def test_embed_takes_the_language_from_the_query(client):
    page = client.get("/support/embed/?lang=ru", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="ru"' in page and 'name="language"' not in page  # no selector inside the frame
