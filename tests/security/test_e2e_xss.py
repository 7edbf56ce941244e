"""Stored XSS in the browser: hostile subjects, bodies, names, file names, tag names and KB
Markdown go in through the real entry points (email ingest, the portal web form, the API, the
KB service) and are then opened in Chromium on the agent ticket page, the ticket list, the
customer directory, the customer's portal ticket page and the help centre. Nothing runs: no
dialog opens, no global the payloads set exists, and no live handler attribute or
javascript: link is in the DOM (so escaping holds even without the CSP behind it)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from apitokens.services import api_token_create, scopes_for
from kb.models import Category
from kb.services import article_create, article_publish
from tests.factories import TeamFactory, make_agent, make_customer_user
from tickets.inbound import InboundAttachment, InboundMessage, InboundSender
from tickets.models import Customer, Ticket
from tickets.services.events import Actor
from tickets.services.ingest import message_ingest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def js(n: int) -> str:
    return f"window.__xss{n}=1;alert({n})"


SCRIPT = f"<script>{js(1)}</script>"
IMG = f'<img src=x onerror="{js(2)}">'
SVG_BREAKOUT = f'"><svg onload="{js(3)}">'
JS_LINK = f'<a href="javascript:{js(4)}">click me</a>'
SVG_FILE = f'<svg xmlns="http://www.w3.org/2000/svg"><script>{js(5)}</script></svg>'.encode()
MARKDOWN = (
    f"Read this.\n\n{SCRIPT}\n\n{IMG}\n\n[a javascript link](javascript:{js(6)})\n\n"
    f'<a href="javascript:{js(7)}">raw link</a>\n\n<iframe src="javascript:{js(8)}"></iframe>\n'
)

DOM_CHECK = """() => ({
  globals: Object.keys(window).filter(k => k.startsWith('__xss')),
  handlers: Array.from(document.querySelectorAll('*')).filter(el =>
      Array.from(el.attributes).some(a => a.name.startsWith('on'))).map(el => el.outerHTML.slice(0, 120)),
  jsLinks: Array.from(document.querySelectorAll('[href^="javascript:" i], [src^="javascript:" i]'))
      .map(el => el.outerHTML.slice(0, 120)),
  inlineScripts: Array.from(document.querySelectorAll('script:not([src])'))
      .filter(s => s.textContent.includes('__xss')).length,
})"""


@pytest.fixture
def hostile_desk(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    billing = TeamFactory(name="Billing")
    agent = make_agent("alice", role="admin", teams=[billing])
    # 1. Email ingest: subject, sender name, HTML body and an SVG attachment with a script.
    result = message_ingest(
        inbound=InboundMessage(
            channel="email",
            sender=InboundSender("email", "mallory@example.com", name=f"Mallory {SVG_BREAKOUT}"),
            subject=f"Help {SVG_BREAKOUT}{SCRIPT}",
            body_text=f"Plain {SCRIPT} {IMG}",
            body_html=f"<p>Hi</p>{SCRIPT}{IMG}{JS_LINK}<svg><script>{js(9)}</script></svg>",
            external_id="<xss-1@example.com>",
            attachments=(InboundAttachment(f"logo{SVG_BREAKOUT}.svg", "image/svg+xml", SVG_FILE),),
        )
    )
    ticket = result.ticket
    Ticket.objects.filter(pk=ticket.pk).update(team=billing)
    # 2. API: a tag name and an internal note through the token API.
    api = APIClient()
    _token, key = api_token_create(user=agent, scopes=scopes_for("write"))
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    tagged = api.patch(f"/api/v1/tickets/{ticket.number}/", {"tags": [f"vip{SVG_BREAKOUT}"]}, format="json")
    assert tagged.status_code in (200, 400), tagged.content
    reply = api.post(f"/api/v1/tickets/{ticket.number}/messages/", {"body_text": f"Public answer {IMG}"}, format="json")
    assert reply.status_code == 201, reply.content
    # 3. The portal web form, as a visitor would post it.
    web = Client().post(
        "/support/",
        {
            "name": f"Eve {SCRIPT}",
            "email": "eve@example.com",
            "subject": f"Form {IMG}",
            "category": "question",
            "description": f"{SCRIPT}{JS_LINK}",
            "attachments": [SimpleUploadedFile(f"x{SVG_BREAKOUT}.svg", SVG_FILE, content_type="image/svg+xml")],
        },
    )
    assert web.status_code == 302, web.content.decode()[-3000:]
    # 4. The KB service: Markdown with raw HTML and javascript: links, published.
    category = Category.objects.create(name="Guides", slug="guides")
    article = article_create(
        slug="hostile",
        category=category,
        title=f"Guide {SVG_BREAKOUT}",
        body_markdown=MARKDOWN,
        actor=Actor.agent(agent),
    )
    article_publish(article=article, actor=Actor.agent(agent))
    mallory = Customer.objects.get(identities__value="mallory@example.com")
    return {"agent": agent, "ticket": ticket, "mallory": mallory, "portal_user": make_customer_user(mallory, "mal")}


def sign_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


def assert_inert(page, dialogs: list[str], where: str) -> None:
    page.wait_for_timeout(300)  # give onload/onerror handlers the chance to fire
    found = page.evaluate(DOM_CHECK)
    assert dialogs == [], f"{where}: a dialog opened {dialogs}"
    assert found == {"globals": [], "handlers": [], "jsLinks": [], "inlineScripts": 0}, where


def test_hostile_content_never_runs_in_agent_customer_or_help_pages(page, live_server, screenshot, hostile_desk):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    number = hostile_desk["ticket"].number
    form_ticket = Ticket.objects.get(requester__identities__value="eve@example.com")

    sign_in(page, live_server, hostile_desk["agent"])
    pages = [
        (f"/agent/tickets/{number}/", "xss-agent-ticket"),
        (f"/agent/tickets/{form_ticket.number}/", "xss-agent-form-ticket"),
        ("/agent/?queue=all", "xss-agent-list"),
        ("/agent/customers/", "xss-directory"),
        (f"/agent/customers/{hostile_desk['mallory'].pk}/", "xss-customer-profile"),
    ]
    for url, name in pages:
        response = page.goto(url)
        assert response.status == 200, url
        assert_inert(page, dialogs, url)
        screenshot(name)
    # The payloads are shown as text, not dropped: the agent sees what the customer typed.
    page.goto(f"/agent/tickets/{number}/")
    assert "<svg onload=" in page.content().replace("&lt;", "<") or "svg onload" in page.inner_text("body")

    page.context.clear_cookies()
    sign_in(page, live_server, hostile_desk["portal_user"])
    response = page.goto(f"/support/tickets/{number}/")
    assert response.status == 200
    assert_inert(page, dialogs, "portal ticket")
    screenshot("xss-portal-ticket")

    for url, name in [("/help/a/hostile/", "xss-help-article"), ("/help/search/?q=guide", "xss-help-search")]:
        response = page.goto(url)
        assert response.status == 200, url
        assert_inert(page, dialogs, url)
        screenshot(name)


def test_an_svg_attachment_downloads_instead_of_rendering(page, live_server, hostile_desk):
    """Opening the SVG's link must not run its script in the site's origin."""
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, live_server, hostile_desk["agent"])
    attachment = hostile_desk["ticket"].messages.first().attachments.get()
    url = f"{live_server.url}/agent/tickets/{hostile_desk['ticket'].number}/attachments/{attachment.pk}/"
    response = page.request.get(url)
    assert response.status == 200
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["content-type"] != "image/svg+xml"
    page.set_content(f'<a id="l" href="{url}">file</a>')
    with page.expect_download():
        page.click("#l")
    assert dialogs == []
