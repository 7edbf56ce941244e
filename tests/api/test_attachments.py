"""Attachments through the API: listed and downloaded with the workspace's visibility rules
and safe headers, uploaded with a reply or note (multipart), refused clearly when too large."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.api.conftest import assert_error
from tests.factories import make_customer_user
from tickets.inbound import InboundAttachment, InboundMessage, InboundSender
from tickets.models import Attachment, Event, Message
from tickets.services.events import Actor
from tickets.services.ingest import message_ingest
from tickets.services.tickets import ticket_reply

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


@pytest.fixture
def files_ticket(desk, settings, tmp_path):
    """A billing ticket from Ana with a PNG and an HTML file, plus an internal note with a file."""
    settings.MEDIA_ROOT = tmp_path
    ticket = desk["tickets"]["billing"]
    message_ingest(
        inbound=InboundMessage(
            channel="email",
            sender=InboundSender("email", "ana@example.com"),
            subject=ticket.subject,
            body_text="See the files",
            external_id="<api-att-1@example.com>",
            ticket_number=ticket.number,
            attachments=(
                InboundAttachment("shot.png", "image/png", PNG),
                InboundAttachment("page.html", "text/html", b"<script>alert(1)</script>"),
            ),
        )
    )
    note = ticket_reply(
        ticket=ticket, author=desk["alice"], body_text="internal", is_internal=True, actor=Actor.agent(desk["alice"])
    )
    from tickets.services.ingest import _store_attachment

    _store_attachment(note, InboundAttachment("secret.txt", "text/plain", b"agents only"))
    return ticket


def _url(ticket, suffix: str = "") -> str:
    return f"/api/v1/tickets/{ticket.number}/attachments/{suffix}"


def test_agents_list_every_attachment_and_customers_not_those_of_internal_notes(desk, client_for, files_ticket):
    agent = client_for(desk["alice"]).get(_url(files_ticket))
    assert agent.status_code == 200, agent.content
    assert [a["filename"] for a in agent.json()["results"]] == ["shot.png", "page.html", "secret.txt"]
    first = agent.json()["results"][0]
    assert first["download_url"] == f"/api/v1/tickets/{files_ticket.number}/attachments/{first['id']}/download/"
    customer = client_for(make_customer_user(desk["ana"], "ana"))
    assert [a["filename"] for a in customer.get(_url(files_ticket)).json()["results"]] == ["shot.png", "page.html"]
    secret = Attachment.objects.get(filename="secret.txt")
    assert_error(customer.get(_url(files_ticket, f"{secret.pk}/download/")), 404, "not_found")


def test_a_download_is_sandboxed_and_html_is_never_served_as_a_page(desk, client_for, files_ticket):
    client = client_for(desk["alice"])
    html = Attachment.objects.get(filename="page.html")
    response = client.get(_url(files_ticket, f"{html.pk}/download/"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"
    png = Attachment.objects.get(filename="shot.png")
    image = client.get(_url(files_ticket, f"{png.pk}/download/"))
    assert image["Content-Type"] == "image/png" and image["Content-Disposition"].startswith("inline")


def test_another_teams_ticket_or_another_tickets_attachment_is_a_404(desk, client_for, files_ticket):
    client = client_for(desk["alice"])
    png = Attachment.objects.get(filename="shot.png")
    assert_error(client.get(_url(desk["tickets"]["tech"])), 404, "not_found")
    other = desk["tickets"]["no_team"]
    assert_error(client.get(_url(other, f"{png.pk}/download/")), 404, "not_found")
    Attachment.objects.filter(pk=png.pk).update(stored=False, file="")
    assert_error(client.get(_url(files_ticket, f"{png.pk}/download/")), 404, "not_found")
    assert client.get(_url(files_ticket)).json()["results"][0]["download_url"] is None


def test_anonymous_callers_get_401(desk, files_ticket):
    assert_error(APIClient().get(_url(files_ticket)), 401, "not_authenticated")


def test_a_reply_with_files_stores_them_and_they_download_again(desk, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ticket = desk["tickets"]["billing"]
    response = client_for(desk["alice"]).post(
        f"/api/v1/tickets/{ticket.number}/messages/",
        {
            "body_text": "The invoice, corrected",
            "is_internal": "true",
            "attachments": [
                SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 fake", content_type="application/pdf"),
                SimpleUploadedFile("notes.txt", b"two", content_type="text/plain"),
            ],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [(a["filename"], a["size"], a["content_type"]) for a in body["attachments"]] == [
        ("invoice.pdf", 13, "application/pdf"),
        ("notes.txt", 3, "text/plain"),
    ]
    download = client_for(desk["alice"]).get(body["attachments"][0]["download_url"])
    assert b"".join(download.streaming_content) == b"%PDF-1.4 fake"
    message = Message.objects.get(pk=body["id"])
    assert message.is_internal and message.attachments.count() == 2
    assert Event.objects.filter(object_type="message", object_id=message.pk, verb="attachment_added").count() == 2


def test_a_file_over_the_limit_is_a_400_and_nothing_is_stored(desk, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.HELPDESK_MAX_ATTACHMENT_BYTES = 10
    ticket = desk["tickets"]["billing"]
    before = Message.objects.count()
    response = client_for(desk["alice"]).post(
        f"/api/v1/tickets/{ticket.number}/messages/",
        {"body_text": "big", "is_internal": "true", "attachments": [SimpleUploadedFile("big.bin", b"x" * 11)]},
        format="multipart",
    )
    error = assert_error(response, 400, "attachment_too_large", "big.bin is 11 bytes; the limit is 10 bytes")
    assert "attachments" in error["fields"]
    assert Message.objects.count() == before and not Attachment.objects.exists()


def test_too_many_files_is_a_400(desk, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.API_MAX_ATTACHMENTS_PER_MESSAGE = 1
    ticket = desk["tickets"]["billing"]
    files = [SimpleUploadedFile(f"f{i}.txt", b"x") for i in range(2)]
    response = client_for(desk["alice"]).post(
        f"/api/v1/tickets/{ticket.number}/messages/",
        {"body_text": "two", "is_internal": "true", "attachments": files},
        format="multipart",
    )
    assert_error(response, 400, "too_many_attachments", "At most 1 files per message")


def test_a_light_agent_attaches_to_a_note_but_a_customer_cannot_post(desk, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ticket = desk["tickets"]["billing"]
    url = f"/api/v1/tickets/{ticket.number}/messages/"
    note = client_for(desk["lena"]).post(
        url,
        {"body_text": "log", "is_internal": "true", "attachments": [SimpleUploadedFile("log.txt", b"l")]},
        format="multipart",
    )
    assert note.status_code == 201, note.content
    customer = client_for(make_customer_user(desk["ana"], "ana"))
    assert_error(customer.post(url, {"body_text": "hi"}, format="multipart"), 403, "permission_denied")
