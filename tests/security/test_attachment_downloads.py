"""Attachments are served only through a permission check, as downloads, with safe headers.

An HTML page, an SVG with a script and a PNG arrive by email. Through each of the three
download routes (agent workspace, customer portal, API) a file that a browser could run is
never served as a page: it comes as `Content-Disposition: attachment` with a neutral content
type and `nosniff`; only raster images are shown inline. The workspace and the API also send
`Content-Security-Policy: sandbox`. Who may download at all is the permission matrix's part
(tests/security/test_permission_matrix.py).
"""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apitokens.services import api_token_create
from tests.factories import CustomerFactory, IdentityFactory, make_agent, make_customer_user
from tickets.inbound import InboundAttachment, InboundMessage, InboundSender
from tickets.models import Attachment
from tickets.services.ingest import message_ingest

pytestmark = pytest.mark.django_db

HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


@pytest.fixture
def files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    customer = CustomerFactory(name="Ana")
    IdentityFactory(customer=customer, value="ana@example.com")
    result = message_ingest(
        inbound=InboundMessage(
            channel="email",
            sender=InboundSender("email", "ana@example.com"),
            subject="Files",
            body_text="See attached",
            external_id="<downloads-1@example.com>",
            attachments=(
                InboundAttachment("page.html", "text/html", HTML),
                InboundAttachment("drawing.svg", "image/svg+xml", SVG),
                InboundAttachment("photo.png", "image/png", PNG),
            ),
        )
    )
    return result.ticket, customer, {a.filename: a for a in Attachment.objects.filter(message__ticket=result.ticket)}


def _routes(ticket, customer, attachments):
    agent = make_agent("alice", role="admin")
    page = Client()
    page.force_login(agent)
    portal = Client()
    portal.force_login(make_customer_user(customer, "ana"))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=agent)[1]}")
    n = ticket.number
    return {
        "workspace": lambda a: page.get(f"/agent/tickets/{n}/attachments/{a.pk}/"),
        "portal": lambda a: portal.get(f"/support/tickets/{n}/attachments/{a.pk}/"),
        "api": lambda a: api.get(f"/api/v1/tickets/{n}/attachments/{a.pk}/download/"),
    }


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("route", ["workspace", "portal", "api"])
def test_active_content_is_only_ever_a_download_with_nosniff(files, route):
    ticket, customer, attachments = files
    get = _routes(ticket, customer, attachments)[route]
    for name, content in (("page.html", HTML), ("drawing.svg", SVG)):
        response = get(attachments[name])
        assert response.status_code == 200, (route, name)
        assert _body(response) == content  # the file, unchanged
        assert response["Content-Disposition"].startswith("attachment"), (route, name)
        assert response["Content-Type"] == "application/octet-stream", (route, name)
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "script-src 'unsafe-inline'" not in response.get("Content-Security-Policy", "")
        assert "sandbox" in response["Content-Security-Policy"], (route, name)


@pytest.mark.parametrize("route", ["workspace", "api"])
def test_workspace_and_api_downloads_are_sandboxed_and_images_inline(files, route):
    ticket, customer, attachments = files
    get = _routes(ticket, customer, attachments)[route]
    for name in ("page.html", "drawing.svg", "photo.png"):
        response = get(attachments[name])
        assert "sandbox" in response["Content-Security-Policy"], (route, name)
    photo = get(attachments["photo.png"])
    assert photo["Content-Type"] == "image/png"
    assert photo["Content-Disposition"].startswith("inline")
