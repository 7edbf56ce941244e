"""Linked tickets (both pages, Events, permissions) and files sent with a reply or note."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import IdentityFactory, TicketFactory, make_agent
from tickets.models import Attachment, Event, Message, TicketLink

from .conftest import client_for, flashes

pytestmark = pytest.mark.django_db


def _page(client, ticket) -> str:
    response = client.get(reverse("agent:ticket", args=[ticket.number]))
    assert response.status_code == 200
    return response.content.decode()


def test_linking_two_tickets_shows_the_relation_on_both_and_records_events(desk):
    dup = TicketFactory(team=desk["billing"], subject="Cannot log in (again)")
    original = TicketFactory(team=desk["billing"], subject="Cannot log in")
    client = client_for(desk["alice"])
    response = client.post(
        reverse("agent:ticket_link", args=[dup.number]),
        {"link-kind": "duplicate_of", "link-target": original.number},
        follow=True,
    )
    assert f"Linked to #{original.number}." in flashes(response)
    link = TicketLink.objects.get()
    assert (link.source, link.target, link.kind) == (dup, original, "duplicate_of")
    assert f'Duplicate of</span> <a href="/agent/tickets/{original.number}/">#{original.number} Cannot log in</a>' in (
        _page(client, dup)
    )
    other_side = _page(client, original)
    assert f'Has duplicate</span> <a href="/agent/tickets/{dup.number}/">#{dup.number}' in other_side
    assert f"marked #{dup.number} as a duplicate of #{original.number}" in other_side  # the timeline event
    assert set(Event.objects.filter(verb="linked").values_list("ticket_id", flat=True)) == {dup.pk, original.pk}

    # Linking again (either way round) is refused; removing records an event on both.
    response = client.post(
        reverse("agent:ticket_link", args=[original.number]),
        {"link-kind": "related", "link-target": dup.number},
        follow=True,
    )
    assert f"#{original.number} and #{dup.number} are already linked." in flashes(response)
    client.post(reverse("agent:ticket_unlink", args=[original.number, link.pk]))
    assert not TicketLink.objects.exists()
    assert Event.objects.filter(verb="unlinked").count() == 2


def test_links_to_tickets_the_agent_cannot_see_are_refused_and_hidden(desk):
    mine = TicketFactory(team=desk["billing"])
    secret = TicketFactory(team=desk["tech"], subject="Tech only")
    client = client_for(desk["alice"])
    response = client.post(
        reverse("agent:ticket_link", args=[mine.number]), {"link-kind": "related", "link-target": secret.number}
    )
    assert response.status_code == 302 and not TicketLink.objects.exists()
    TicketLink.objects.create(source=mine, target=secret, kind="caused_by")
    assert "Tech only" not in _page(client, mine)
    assert (
        client.post(
            reverse("agent:ticket_link", args=[mine.number]), {"link-kind": "related", "link-target": mine.number}
        ).status_code
        == 302
    )
    assert TicketLink.objects.count() == 1  # not linked to itself


def test_a_reply_carries_its_files_to_the_timeline_and_the_outbound_message(desk, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ticket = TicketFactory(team=desk["billing"], channel="email", status="open")
    IdentityFactory(customer=ticket.requester, kind="email", value="ana@example.com")
    client = client_for(desk["alice"])
    response = client.post(
        reverse("agent:ticket_reply", args=[ticket.number]),
        {
            "reply-body": "Here is the label.",
            "reply-kind": "public",
            "reply-attachments": [
                SimpleUploadedFile("return-label.pdf", b"%PDF-1.4 label", content_type="application/pdf"),
                SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\nfake", content_type="image/png"),
            ],
        },
        follow=True,
    )
    message = Message.objects.get(ticket=ticket, direction="outbound")
    files = list(message.attachments.order_by("filename"))
    assert [(a.filename, a.size, a.stored) for a in files] == [("photo.png", 12, True), ("return-label.pdf", 14, True)]
    assert files[1].file.read() == b"%PDF-1.4 label"
    page = response.content.decode()
    assert f'<a href="/agent/tickets/{ticket.number}/attachments/{files[1].pk}/">return-label.pdf</a>' in page


def test_a_file_over_the_limit_is_refused_nothing_is_sent_and_the_draft_stays(desk, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.HELPDESK_COMPOSER_MAX_ATTACHMENT_BYTES = 1024
    ticket = TicketFactory(team=desk["billing"], status="open")
    response = client_for(desk["alice"]).post(
        reverse("agent:ticket_reply", args=[ticket.number]),
        {
            "reply-body": "My long draft",
            "reply-kind": "internal",
            "reply-attachments": [SimpleUploadedFile("big.zip", b"x" * 2048, content_type="application/zip")],
        },
    )
    assert response.status_code == 200
    assert "big.zip is 2.0\xa0KB; files up to 1.0\xa0KB can be attached." in flashes(response)
    assert "Nothing was sent. Your text is kept below; choose the files again." in flashes(response)
    assert "My long draft</textarea>" in response.content.decode()
    assert not Message.objects.filter(ticket=ticket).exists()
    assert not Attachment.objects.exists()


def test_a_light_agent_cannot_link(desk):
    lena = make_agent("lena", role="light_agent", teams=[desk["billing"]])
    a, b = TicketFactory(team=desk["billing"]), TicketFactory(team=desk["billing"])
    response = client_for(lena).post(
        reverse("agent:ticket_link", args=[a.number]), {"link-kind": "related", "link-target": b.number}, follow=True
    )
    assert "Your role cannot change tickets." in flashes(response)
    assert not TicketLink.objects.exists()
