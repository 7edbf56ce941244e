"""Agents open attachments of tickets they may see; inline images show where they were put."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import TeamFactory, make_agent
from tickets.inbound import InboundAttachment, InboundMessage, InboundSender
from tickets.models import Attachment, Ticket
from tickets.services.ingest import message_ingest

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


@pytest.fixture
def ticket_with_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    result = message_ingest(
        inbound=InboundMessage(
            channel="email",
            sender=InboundSender("email", "ana@example.com"),
            subject="Screenshot of the error",
            body_html='<p>See here:</p><img src="cid:shot1@mail" alt="error"><script>x()</script>',
            external_id="<att-1@example.com>",
            attachments=(
                InboundAttachment("shot.png", "image/png", PNG, inline=True, content_id="<shot1@mail>"),
                InboundAttachment("page.html", "text/html", b"<script>alert(1)</script>"),
            ),
        )
    )
    return result.ticket


def test_an_agent_downloads_an_attachment_and_html_is_never_served_as_a_page(client, ticket_with_files):
    agent = make_agent("alice")
    client.force_login(agent)
    html = Attachment.objects.get(filename="page.html")
    response = client.get(reverse("agent:attachment", args=[ticket_with_files.number, html.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response["Content-Security-Policy"]


def test_inline_images_show_in_the_message(client, ticket_with_files):
    client.force_login(make_agent("bruno"))
    shot = Attachment.objects.get(filename="shot.png")
    page = client.get(reverse("agent:ticket", args=[ticket_with_files.number])).content.decode()
    url = reverse("agent:attachment", args=[ticket_with_files.number, shot.pk])
    assert f'src="{url}"' in page and "cid:" not in page and "<script>x()" not in page
    image = client.get(url)
    assert image["Content-Type"] == "image/png" and b"".join(image.streaming_content) == PNG


def test_another_teams_ticket_and_another_tickets_attachment_are_404(client, ticket_with_files):
    Ticket.objects.filter(pk=ticket_with_files.pk).update(team=TeamFactory(name="Tech"))
    outsider = make_agent("carla", teams=[TeamFactory(name="Billing")])
    client.force_login(outsider)
    shot = Attachment.objects.get(filename="shot.png")
    assert client.get(reverse("agent:attachment", args=[ticket_with_files.number, shot.pk])).status_code == 404

    client.force_login(make_agent("mona", role="manager"))
    other = message_ingest(
        inbound=InboundMessage(
            channel="sms", sender=InboundSender("phone", "+15550123"), body_text="x", external_id="S9"
        )
    )
    assert client.get(reverse("agent:attachment", args=[other.ticket.number, shot.pk])).status_code == 404
    assert client.get(reverse("agent:attachment", args=[ticket_with_files.number, shot.pk])).status_code == 200
