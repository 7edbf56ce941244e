"""The web form at /support/ and the customer portal."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from channels_inbox.services import raw_inbound_process
from tests.factories import CustomerFactory, IdentityFactory, TicketFactory, make_customer_user
from tickets.models import Attachment, Message, RawInbound, RawInboundStatus, Ticket, TicketStatus

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    data = {
        "name": "Ana Lima",
        "email": "ana@example.com",
        "subject": "Printer on fire",
        "category": "problem",
        "description": "It smokes when I print.",
        "website": "",
    }
    data.update(overrides)
    return data


def submit(client, **overrides):
    return client.post("/support/", form_data(**overrides), REMOTE_ADDR=overrides.pop("ip", "10.0.0.1"))


def test_form_submission_opens_a_ticket_with_customer_subject_and_attachment(client):
    upload = SimpleUploadedFile("smoke.png", b"\x89PNG fake image", content_type="image/png")
    response = client.post("/support/", {**form_data(), "attachments": [upload]}, follow=True)
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.subject == "Printer on fire"
    assert ticket.channel == "web"
    assert ticket.requester.identities.get().value == "ana@example.com"
    assert ticket.requester.name == "Ana Lima"
    assert list(ticket.tags.values_list("name", flat=True)) == ["problem"]
    attachment = Attachment.objects.get(message__ticket=ticket)
    assert attachment.filename == "smoke.png" and attachment.size == len(b"\x89PNG fake image")
    assert attachment.file.read() == b"\x89PNG fake image"
    page = response.content.decode()
    assert f"#{ticket.number}" in page
    assert "confirmation email" not in page  # no mailbox is set up, so none is promised


def test_confirmation_email_is_promised_only_when_one_is_queued(client):
    from channels_inbox.email.adapter import register_email_adapter  # noqa: F401 - registered by ready()
    from channels_inbox.models import Mailbox

    Mailbox.objects.create(address="support@acme.example", is_default=True, smtp_host="127.0.0.1")
    response = client.post("/support/", form_data(), follow=True)
    ticket = Ticket.objects.get()
    assert "A confirmation email is on its way" in response.content.decode()
    ack = Message.objects.get(ticket=ticket, direction="outbound")
    assert ack.channel == "email" and ack.metadata["kind"] == "acknowledgement"


def test_honeypot_refuses_silently(client):
    response = client.post("/support/", form_data(website="http://spam.example"), follow=True)
    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    assert not Ticket.objects.exists() and not RawInbound.objects.exists()


def test_invalid_form_shows_errors_and_stores_nothing(client):
    response = client.post("/support/", form_data(email="not-an-address"))
    assert response.status_code == 200
    assert "Enter a valid email address" in response.content.decode()
    assert not RawInbound.objects.exists()


def test_too_large_attachment_is_refused(client, settings):
    settings.PORTAL_MAX_ATTACHMENT_BYTES = 10
    upload = SimpleUploadedFile("big.bin", b"x" * 11)
    response = client.post("/support/", {**form_data(), "attachments": [upload]})
    assert "big.bin is larger than" in response.content.decode()
    assert not Ticket.objects.exists()


def test_per_address_rate_limit_gives_429(client):
    for n in range(3):
        assert client.post("/support/", form_data(subject=f"s{n}"), REMOTE_ADDR=f"10.0.0.{n}").status_code == 302
    response = client.post("/support/", form_data(), REMOTE_ADDR="10.0.0.99")
    assert response.status_code == 429
    assert response["Retry-After"] == "3600"
    assert "Please wait a little" in response.content.decode()
    assert Ticket.objects.count() == 3


def test_per_ip_rate_limit_gives_429(client):
    for n in range(5):
        assert client.post("/support/", form_data(email=f"p{n}@example.com"), REMOTE_ADDR="10.1.1.1").status_code == 302
    response = client.post("/support/", form_data(email="p9@example.com"), REMOTE_ADDR="10.1.1.1")
    assert response.status_code == 429
    assert Ticket.objects.count() == 5
    assert client.post("/support/", form_data(email="p9@example.com"), REMOTE_ADDR="10.2.2.2").status_code == 302


def test_raw_payload_is_kept_and_replay_stores_nothing_twice(client):
    upload = SimpleUploadedFile("log.txt", b"error 42", content_type="text/plain")
    client.post("/support/", {**form_data(), "attachments": [upload]})
    raw = RawInbound.objects.get()
    assert raw.channel == "web" and raw.status == RawInboundStatus.PROCESSED
    assert b"Printer on fire" in bytes(raw.payload) and raw.external_id.startswith("web:")
    results = raw_inbound_process(raw_id=raw.pk)
    assert results[0].duplicate
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1 and Attachment.objects.count() == 1
    # A payload that failed (say, the database was down) replays into exactly one ticket.
    Ticket.objects.all().delete()
    RawInbound.objects.filter(pk=raw.pk).update(status=RawInboundStatus.FAILED)
    raw_inbound_process(raw_id=raw.pk)
    assert Ticket.objects.count() == 1
    assert Attachment.objects.get().filename == "log.txt"


def test_embed_may_be_framed_only_by_allowed_origins(client, settings):
    assert client.get("/support/")["X-Frame-Options"] == "DENY"
    response = client.get("/support/embed/")
    assert "X-Frame-Options" not in response
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in response["Content-Security-Policy"]
    settings.PORTAL_EMBED_ALLOWED_ORIGINS = ["https://www.acme.example"]
    policy = client.get("/support/embed/")["Content-Security-Policy"]
    assert "frame-ancestors https://www.acme.example" in policy and "'none'" not in policy.split("frame-ancestors")[1]
    response = client.post("/support/embed/", form_data(), follow=True)
    assert response.redirect_chain[-1][0].startswith("/support/embed/thanks/")
    assert "X-Frame-Options" not in response


def test_csrf_is_enforced():
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/support/", form_data()).status_code == 403
    assert not Ticket.objects.exists()
    strict.get("/support/")
    token = strict.cookies["csrftoken"].value
    assert strict.post("/support/", {**form_data(), "csrfmiddlewaretoken": token}).status_code == 302
    assert Ticket.objects.count() == 1


# --- Magic links ----------------------------------------------------------------------------------


def known_customer(address="rosa@example.com", **fields):
    customer = CustomerFactory(name="Rosa", **fields)
    IdentityFactory(customer=customer, value=address)
    return customer


def without_csrf(content: bytes) -> bytes:
    """The page with its per-response CSRF token values taken out."""
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


def link_from_outbox() -> str:
    return re.search(r"http://testserver(/support/login/link/\S+/)", mail.outbox[-1].body).group(1)


def test_unknown_address_gets_the_same_page_and_no_mail(client):
    known_customer()
    unknown = client.post("/support/login/", {"email": "nobody@example.com"}, follow=True)
    known = client.post("/support/login/", {"email": "rosa@example.com"}, follow=True)
    assert unknown.redirect_chain == known.redirect_chain == [("/support/login/sent/", 302)]
    assert without_csrf(unknown.content) == without_csrf(known.content)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["rosa@example.com"]


def test_magic_link_signs_in_once_and_creates_the_login(client):
    customer = known_customer()
    client.post("/support/login/", {"email": "ROSA@example.com"})
    link = link_from_outbox()
    assert client.get(link).status_code == 200  # a confirm button: mail scanners do not spend it
    response = client.post(link)
    assert response.status_code == 302 and response["Location"] == "/support/tickets/"
    customer.refresh_from_db()
    assert customer.user is not None and customer.user.email == "rosa@example.com"
    assert client.get("/support/tickets/").status_code == 200
    other = Client()
    refused = other.post(link)
    assert refused.status_code == 400 and "already been used" in refused.content.decode()
    assert other.get("/support/tickets/").status_code == 302


def test_magic_link_leads_back_to_the_page_asked_for(client):
    customer = known_customer()
    ticket = TicketFactory(requester=customer)
    asked = client.get(f"/support/tickets/{ticket.number}/")
    assert asked.status_code == 302
    login_page = client.get(asked["Location"])
    assert f'name="next" value="/support/tickets/{ticket.number}/"' in login_page.content.decode()
    client.post("/support/login/", {"email": "rosa@example.com", "next": f"/support/tickets/{ticket.number}/"})
    response = client.post(link_from_outbox())
    assert response["Location"] == f"/support/tickets/{ticket.number}/"


def test_magic_link_never_leads_off_the_portal(client):
    known_customer()
    client.post("/support/login/", {"email": "rosa@example.com", "next": "https://evil.example/"})
    assert client.post(link_from_outbox())["Location"] == "/support/tickets/"
    client.logout()
    client.post("/support/login/", {"email": "rosa@example.com", "next": "/agent/"})
    assert client.post(link_from_outbox())["Location"] == "/support/tickets/"


def test_magic_link_expires(client, settings):
    known_customer()
    client.post("/support/login/", {"email": "rosa@example.com"})
    link = link_from_outbox()
    later = timezone.now() + timedelta(minutes=16)
    from unittest import mock

    with mock.patch("django.core.signing.time.time", return_value=later.timestamp()):
        response = client.post(link)
    assert response.status_code == 400 and "expired" in response.content.decode()


def test_password_login_for_customers_with_a_password(client):
    customer = known_customer()
    make_customer_user(customer, username="rosa")
    response = client.post("/support/login/password/", {"username": "rosa", "password": "pw-for-tests-1"})
    assert response.status_code == 302 and response["Location"] == "/support/tickets/"


# --- My tickets -----------------------------------------------------------------------------------


@pytest.fixture
def signed_in(client):
    customer = known_customer()
    make_customer_user(customer)
    client.force_login(customer.user)
    return customer


def test_customer_sees_only_their_own_tickets(client, signed_in, django_assert_max_num_queries):
    mine = TicketFactory(requester=signed_in, subject="My printer")
    theirs = TicketFactory(subject="Someone else's secret")
    with django_assert_max_num_queries(8):
        page = client.get("/support/tickets/").content.decode()
    assert "My printer" in page and "secret" not in page
    assert client.get(f"/support/tickets/{mine.number}/").status_code == 200
    assert client.get(f"/support/tickets/{theirs.number}/").status_code == 404
    assert client.post(f"/support/tickets/{theirs.number}/", {"body": "hi"}).status_code == 404
    assert client.post(f"/support/tickets/{theirs.number}/solve/").status_code == 404
    assert client.get("/support/tickets/999999/").status_code == 404


def test_internal_notes_never_show(client, signed_in):
    ticket = TicketFactory(requester=signed_in)
    Message.objects.create(ticket=ticket, direction="inbound", author_kind="customer", channel="web", body_text="Hello")
    Message.objects.create(
        ticket=ticket, direction="outbound", author_kind="agent", channel="internal", body_text="VIP", is_internal=True
    )
    Message.objects.create(ticket=ticket, direction="outbound", author_kind="agent", channel="email", body_text="Answr")
    page = client.get(f"/support/tickets/{ticket.number}/").content.decode()
    assert "Hello" in page and "Answr" in page and "VIP" not in page


def test_reply_lands_on_the_same_ticket_with_attachment(client, signed_in):
    client.post("/support/", form_data(email="rosa@example.com"))
    ticket = Ticket.objects.get()
    assert ticket.requester == signed_in
    upload = SimpleUploadedFile("photo.jpg", b"jpeg bytes", content_type="image/jpeg")
    response = client.post(f"/support/tickets/{ticket.number}/", {"body": "Still smoking", "attachments": [upload]})
    assert response.status_code == 302
    assert Ticket.objects.count() == 1
    reply = ticket.messages.order_by("-id").first()
    assert reply.body_text == "Still smoking" and reply.channel == "web" and reply.author_customer == signed_in
    assert reply.attachments.get().filename == "photo.jpg"
    page = client.get(f"/support/tickets/{ticket.number}/").content.decode()
    assert "Still smoking" in page and "photo.jpg" in page
    download = client.get(f"/support/tickets/{ticket.number}/attachments/{reply.attachments.get().pk}/")
    assert b"".join(download.streaming_content) == b"jpeg bytes"


def test_close_marks_the_ticket_solved(client, signed_in):
    ticket = TicketFactory(requester=signed_in, status=TicketStatus.OPEN)
    response = client.post(f"/support/tickets/{ticket.number}/solve/", follow=True)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.SOLVED
    assert "marked your request as solved" in response.content.decode()
    event = ticket.events.get(field="status")
    assert event.actor_customer == signed_in


def test_pages_follow_the_customers_language(client, signed_in):
    signed_in.language = "ru"
    signed_in.save()
    page = client.get("/support/tickets/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="ru"' in page


def test_anonymous_pages_follow_the_browser(client):
    assert 'lang="pt-br"' in client.get("/support/", HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()


def test_agents_are_not_customers(client):
    from tests.factories import make_agent

    client.force_login(make_agent("agent-portal"))
    assert client.get("/support/tickets/").status_code == 403
