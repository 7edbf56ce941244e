"""The web form and the customer portal in Chromium, at desktop (1280 px) and phone (375 px)
widths: a visitor submits the form with an attachment, signs in by magic link, sees only their
own requests (a guessed number is refused), replies, closes and rates; an organization's
shared requests; the language selector; the embeddable form inside another site's page."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from channels_inbox.webform.adapter import register_web_adapter
from portal.models import OrganizationPortalAccess
from tests.factories import CustomerFactory, IdentityFactory, OrganizationFactory, TicketFactory, make_customer_user
from tickets.models import Ticket, TicketStatus

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(autouse=True)
def _web_adapter():
    register_web_adapter()
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def both_widths(page, screenshot):
    """Screenshot the current page at 1280 px and at 375 px (`<name>-phone`), checking that
    nothing is wider than a phone's screen."""

    def take(name: str) -> None:
        screenshot(name)
        page.set_viewport_size(PHONE)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= PHONE["width"], f"{name} is {overflow} px wide on a 375 px phone"
        screenshot(f"{name}-phone")
        page.set_viewport_size(DESKTOP)

    return take


def test_visitor_submits_the_form_then_signs_in_and_sees_only_their_requests(page, both_widths, live_server, tmp_path):
    secret = TicketFactory(requester=CustomerFactory(name="Someone else"), subject="Someone else's secret")
    attachment = tmp_path / "error-log.txt"
    attachment.write_text("Error 42 at startup\n")

    page.goto("/support/")
    page.get_by_label("Your name").fill("Ana Lima")
    page.get_by_label("Your email address").fill("ana@example.com")
    page.get_by_label("Subject").fill("The app will not start")
    page.get_by_label("Topic").select_option("problem")
    page.get_by_label("How can we help?").fill("Since this morning it crashes on start.")
    page.get_by_label("Attachments").set_input_files(str(attachment))
    both_widths("portal-form")
    page.get_by_role("button", name="Send request").click()

    ticket = Ticket.objects.exclude(pk=secret.pk).get()
    assert page.get_by_role("status").get_by_text(f"#{ticket.number}").is_visible()
    assert "confirmation email" not in page.content()
    both_widths("portal-confirmation")
    assert ticket.messages.get().attachments.get().filename == "error-log.txt"

    page.goto("/support/login/")
    both_widths("portal-sign-in")
    page.get_by_label("Your email address").fill("ana@example.com")
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_text("If we know this address").wait_for()
    link = re.search(r"https?://\S+/support/login/link/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="My requests").wait_for()
    assert page.get_by_text("The app will not start").is_visible()
    assert page.get_by_text("Someone else's secret").count() == 0
    both_widths("portal-my-requests")

    # A guessed number of someone else's request is refused, and shows nothing of it.
    response = page.goto(f"/support/tickets/{secret.number}/")
    assert response.status == 404
    assert "Someone else" not in page.content()

    page.goto("/support/tickets/")
    page.get_by_text("The app will not start").click()
    page.get_by_text("Since this morning it crashes on start.").wait_for()
    page.get_by_label("Your reply").fill("It also happens after a restart.")
    page.get_by_role("button", name="Send reply").click()
    page.get_by_text("Your reply has been added.").wait_for()
    assert ticket.messages.count() == 2
    both_widths("portal-ticket")

    page.get_by_role("button", name="Yes, close this request").click()
    page.get_by_text("marked your request as solved").wait_for()
    page.get_by_role("heading", name="Rate our help").wait_for()
    both_widths("portal-ticket-rating")
    page.locator("label").filter(has_text=re.compile(r"^5$")).first.click()
    page.get_by_label("Anything you would like to tell us?").fill("Fixed in a day, thanks")
    page.get_by_role("button", name="Send rating").click()
    page.get_by_text("You rated our help 5 out of 5.").wait_for()
    assert ticket.surveys.get(kind="csat").score == 5
    both_widths("portal-ticket-rated")


def test_organization_requests_are_listed_and_others_refused(page, both_widths, live_server):
    acme, globex = OrganizationFactory(name="Acme"), OrganizationFactory(name="Globex")
    OrganizationPortalAccess.objects.create(organization=acme, share_tickets=True)
    ana = CustomerFactory(name="Ana Acme", organization=acme)
    IdentityFactory(customer=ana, value="ana@acme.example")
    make_customer_user(ana, username="ana-acme")
    TicketFactory(requester=ana, organization=acme, subject="Laptop will not boot")
    bob = CustomerFactory(name="Bob Acme", organization=acme)
    bobs = TicketFactory(requester=bob, organization=acme, subject="Invoice for March", status=TicketStatus.PENDING)
    gil = CustomerFactory(name="Gil Globex", organization=globex)
    gils = TicketFactory(requester=gil, organization=globex, subject="Globex merger plan")

    page.goto("/support/login/password/")
    page.get_by_label("Username").fill("ana-acme")
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="My organization's requests").wait_for()
    org_list = page.get_by_role("list", name="My organization's requests")
    assert org_list.get_by_text("Invoice for March").is_visible()
    assert org_list.get_by_text("From Bob Acme").is_visible()
    assert page.get_by_text("Globex merger plan").count() == 0
    both_widths("portal-organization-requests")

    org_list.get_by_text("Invoice for March").click()
    page.get_by_text("Request of Bob Acme, from your organization.").wait_for()
    assert page.goto(f"/support/tickets/{bobs.number}/").status == 200
    assert page.goto(f"/support/tickets/{gils.number}/").status == 404


def test_emailed_link_shows_the_request_read_only(page, both_widths, live_server):
    from portal.services import ticket_link_token
    from tickets.models import Message

    ticket = TicketFactory(requester=CustomerFactory(name="Rosa"), subject="Order 1234 never arrived")
    Message.objects.create(
        ticket=ticket, direction="inbound", author_kind="customer", channel="web", body_text="Where is my parcel?"
    )
    Message.objects.create(
        ticket=ticket, direction="outbound", author_kind="agent", channel="email", body_text="It ships on Monday."
    )
    page.goto(f"/support/request/{ticket_link_token(ticket)}/")
    page.get_by_text("It ships on Monday.").wait_for()
    assert page.get_by_role("button", name="Send reply").count() == 0
    both_widths("portal-request-link")
    page.get_by_role("link", name="Sign in", exact=True).last.click()
    page.get_by_role("heading", name="Sign in").wait_for()
    assert page.locator("#main input[name=next]").input_value() == f"/support/tickets/{ticket.number}/"


def test_language_selector_switches_and_is_remembered(page, screenshot, live_server):
    page.goto("/support/")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_label("Language").select_option("ru")
    page.wait_for_function("document.documentElement.lang === 'ru'")
    page.goto("/support/login/")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.locator("#portal-language").input_value() == "ru"  # its label is in Russian now
    page.set_viewport_size(PHONE)
    screenshot("portal-sign-in-ru-phone")


def test_browser_language_is_the_default(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="pt-BR")
    try:
        page = context.new_page()
        page.goto("/support/")
        assert page.locator("html").get_attribute("lang") == "pt-br"
    finally:
        context.close()


@pytest.fixture
def other_site(live_server):
    """Another site (a second origin on loopback): its page at / is an iframe of the web form's
    embed route. A real server, so Chromium sees a local page framing a local one."""
    host_page = (
        "<!doctype html><title>Shop</title><h1>Our shop</h1>"
        f'<iframe src="{live_server.url}/support/embed/" width="600" height="900"></iframe>'
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server interface
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(host_page)))
            self.end_headers()
            self.wfile.write(host_page)

        def log_message(self, *args):
            pass

    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [f"http://127.0.0.1:{server.server_address[1]}" for server in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


def test_embedded_form_shows_inside_an_allowed_site_only(page, screenshot, other_site, settings):
    shop, stranger = other_site
    settings.PORTAL_EMBED_ALLOWED_ORIGINS = [shop]

    page.goto(f"{shop}/")
    frame = page.frame_locator("iframe")
    frame.get_by_role("heading", name="How can we help?").wait_for()
    assert frame.get_by_label("Your email address").is_visible()
    screenshot("portal-embed")

    page.goto(f"{stranger}/")
    page.wait_for_load_state("load")
    page.wait_for_timeout(500)
    assert frame.get_by_role("heading", name="How can we help?").count() == 0
