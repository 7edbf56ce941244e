"""The HTTP side of live chat: the widget script and the framable chat page, visitor sign-up,
visitor files only through links signed for that visitor, the console for agents only (a fixed
number of queries however many chats), and "Start video call" on the ticket page."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from channels_inbox.chat import services
from channels_inbox.chat.selectors import console_state, file_link_for_visitor
from tests.factories import make_agent
from tickets.inbound import InboundAttachment
from tickets.models import Event, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_widget_script_and_the_frame_can_be_embedded(client, settings):
    settings.CHAT_ALLOWED_ORIGINS = ["https://shop.example.com"]
    script = client.get("/chat/widget.js")
    assert script.status_code == 200 and script["Content-Type"].startswith("text/javascript")
    assert b"/chat/frame/" in script.content
    frame = client.get("/chat/frame/?lang=ru")
    assert frame.status_code == 200
    assert "frame-ancestors https://shop.example.com" in frame["Content-Security-Policy"]
    assert "X-Frame-Options" not in frame
    assert '<html lang="ru">' in frame.content.decode()
    # Every other page still refuses to be framed.
    assert "frame-ancestors 'none'" in client.get("/chat/demo/")["Content-Security-Policy"]


def test_a_visitor_gets_a_token_and_is_recognised_by_it(client):
    first = client.post("/chat/visitor/", json.dumps({"lang": "pt-BR"}), content_type="application/json").json()
    again = client.post("/chat/visitor/", json.dumps({"token": first["token"]}), content_type="application/json").json()
    assert services.visitor_from_token(again["token"]) == services.visitor_from_token(first["token"])
    assert services.visitor_from_token(first["token"]).language == "pt-br"
    forged = client.post("/chat/visitor/", json.dumps({"token": "v_x:forged"}), content_type="application/json").json()
    assert services.visitor_from_token(forged["token"]) != services.visitor_from_token(first["token"])


def test_visitor_files_upload_and_download_only_by_the_signed_link(client, settings):
    settings.CHAT_MAX_ATTACHMENT_BYTES = 2000
    ana = services.visitor_create()
    rui = services.visitor_create()
    token = services.visitor_token(ana)
    response = client.post(
        "/chat/upload/", {"token": token, "file": SimpleUploadedFile("note.txt", b"hello", "text/plain")}
    )
    assert response.status_code == 200
    too_big = client.post(
        "/chat/upload/", {"token": token, "file": SimpleUploadedFile("big.bin", b"0" * 2001, "application/x")}
    )
    assert too_big.status_code == 413
    nobody = client.post("/chat/upload/", {"token": "nope", "file": SimpleUploadedFile("a.txt", b"a")})
    assert nobody.status_code == 403

    ticket = Ticket.objects.get(channel="chat")
    attachment = ticket.messages.get().attachments.get()
    own = client.get(file_link_for_visitor(attachment_id=attachment.pk, visitor_id=ana.pk))
    assert own.status_code == 200 and b"".join(own.streaming_content) == b"hello"
    assert own["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert client.get(file_link_for_visitor(attachment_id=attachment.pk, visitor_id=rui.pk)).status_code == 404
    assert client.get(f"/chat/file/{attachment.pk}/").status_code == 404


def test_the_console_is_for_agents_and_its_lists_take_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    maria = make_agent("maria")
    assert client.get("/chat/agent/").status_code == 302  # sign in first
    client.force_login(maria)
    page = client.get("/chat/agent/")
    assert page.status_code == 200 and "/chat/widget.js" in page.content.decode()
    for i in range(6):
        services.chat_visitor_message(visitor=services.visitor_create(), text=f"Question {i}")
    with django_assert_max_num_queries(12):
        state = console_state(user=maria)
    assert len(state["queue"]) == 6


def test_start_video_call_from_the_ticket_page(client, settings):
    settings.VIDEO_MEETING_URL_TEMPLATE = "https://meet.example.org/desk-{token}"
    maria = make_agent("maria")
    ana = services.visitor_create()
    services.chat_visitor_message(
        visitor=ana, text="Photo", files=[InboundAttachment(filename="a.png", content_type="image/png", content=b"x")]
    )
    ticket = Ticket.objects.get()
    client.force_login(maria)
    page = client.get(f"/agent/tickets/{ticket.number}/")
    assert "Start video call" in page.content.decode()
    response = client.post(f"/chat/video/{ticket.number}/")
    assert response.status_code == 302
    event = Event.objects.get(ticket=ticket, verb="video_call_started")
    assert event.data["url"].startswith("https://meet.example.org/desk-")
    assert ticket.messages.filter(direction="outbound", body_text__contains=event.data["url"]).exists()
    outsider = make_agent("light", role="light_agent")
    client.force_login(outsider)
    assert client.post(f"/chat/video/{ticket.number}/").status_code in (302, 403)
    assert Event.objects.filter(verb="video_call_started").count() == 1
