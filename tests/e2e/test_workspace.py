"""An agent works tickets in Chromium: filters the list, opens a ticket, applies a macro, sends
a reply with "send and set to pending" and sees both in the timeline; bulk-solves from the list."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import TeamFactory
from tickets.inbound import InboundMessage, InboundSender
from tickets.models import Macro, Ticket
from tickets.services.agents import agent_create
from tickets.services.events import Actor
from tickets.services.ingest import message_ingest
from tickets.services.tickets import ticket_change_status, ticket_update

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery-7"


@pytest.fixture
def agent():
    team = TeamFactory(name="Shipping")
    return agent_create(
        username="maria",
        email="maria@agents.example.com",
        role="agent",
        password=PASSWORD,
        first_name="Maria",
        last_name="Lopes",
        teams=[team],
        actor=Actor.system(),
    )


def email_ticket(subject: str, body: str, sender: str, name: str) -> Ticket:
    return message_ingest(
        inbound=InboundMessage(
            channel="email",
            sender=InboundSender(kind="email", value=f"{name} <{sender}>", name=name),
            subject=subject,
            body_text=body,
            external_id=f"<{sender}-{subject[:10]}@example.com>",
        )
    ).ticket


def sign_in(page) -> None:
    page.goto("/agent/login/")
    page.get_by_label("Username").fill("maria")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/agent/$"))


def test_filter_open_apply_macro_and_send_and_set_pending(page, agent, screenshot):
    parcel = email_ticket(
        "Parcel lost in transit",
        "Hello, my parcel was due last Monday and the tracking has not moved for a week.",
        "ana.souza@example.com",
        "Ana Souza",
    )
    email_ticket("Invoice address is wrong", "Please change the address on invoice 2291.", "li@example.com", "Li Wei")
    email_ticket("Cannot reset my password", "The reset link has expired.", "omar@example.com", "Omar Haddad")
    ticket_update(ticket=parcel, changes={"priority": "urgent"}, actor=Actor.agent(agent))
    Macro.objects.create(
        name="Ask for order number",
        body="Hi {{ customer.name }}, could you send me the order number for ticket #{{ ticket.number }}?\n\n"
        "{{ agent.name }}",
        actions=[{"field": "status", "value": "pending"}, {"field": "add_tags", "value": ["needs-order"]}],
    )

    sign_in(page)
    expect(page.get_by_role("row")).to_have_count(4)  # header and three tickets
    page.get_by_text("Filters", exact=True).click()
    filters = page.locator("form.filters")
    filters.get_by_label("Priority", exact=True).select_option("urgent")
    page.get_by_role("searchbox").fill("parcel")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"priority=urgent"))
    rows = page.locator("table.tickets tbody tr")
    expect(rows).to_have_count(1)
    expect(page.locator("form.filters .error")).to_have_count(0)
    expect(rows.first).to_contain_text("Parcel lost in transit")
    expect(filters.get_by_label("Priority", exact=True)).to_have_value("urgent")
    screenshot("workspace-list-filtered")

    rows.first.get_by_role("link", name="Parcel lost in transit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"#{parcel.number} Parcel lost in transit")
    composer = page.locator("form.composer")
    composer.get_by_label("Macro").select_option(label="Ask for order number")
    composer.get_by_role("button", name="Use macro").click()
    message = page.get_by_label("Message")
    expect(message).to_have_value(
        re.compile(rf"^Hi Ana Souza, could you send me the order number for ticket #{parcel.number}\?")
    )
    expect(message).to_have_value(re.compile(r"Maria Lopes$"))
    expect(page.locator(".macro-applied")).to_contain_text("add tags needs-order")
    expect(composer.get_by_label("Send via")).to_have_value("email")
    send = composer.get_by_role("button", name="Send and set to Pending")
    expect(send).to_be_visible()
    screenshot("workspace-ticket-composer")

    send.click()
    expect(page).to_have_url(re.compile(rf"/agent/tickets/{parcel.number}/$"))
    expect(page.get_by_role("status").first).to_contain_text("Reply queued for sending via Email.")
    reply = page.locator("article.msg.outbound").last
    expect(reply).to_contain_text("could you send me the order number")
    expect(reply).to_contain_text("Maria Lopes")
    expect(page.locator("p.event").filter(has_text="Maria Lopes changed status from Open to Pending")).to_have_count(1)
    expect(page.locator(".sidebar .status")).to_have_text("Pending")
    expect(page.get_by_label("Tags")).to_have_value("needs-order")
    screenshot("workspace-ticket-after-reply")
    assert Macro.objects.get().usage_count == 1


def test_bulk_solve_reports_the_ticket_that_cannot_be_solved(page, agent, screenshot):
    first = email_ticket("Wrong size delivered", "I ordered an M.", "a@example.com", "Ana Souza")
    second = email_ticket("Where is my refund", "It has been two weeks.", "b@example.com", "Li Wei")
    closed = email_ticket("Thanks!", "All good now.", "c@example.com", "Omar Haddad")
    for status in ("solved", "closed"):
        ticket_change_status(ticket=closed, status=status, actor=Actor.system())

    sign_in(page)
    page.goto("/agent/?queue=all")
    page.get_by_label("Select all tickets on this page").check()
    page.locator("#bulk-status").select_option("solved")
    page.get_by_role("button", name="Set status").click()
    expect(page.get_by_role("status")).to_contain_text(f"Updated 2 tickets: #{first.number}, #{second.number}.")
    expect(page.get_by_role("alert")).to_contain_text(f"#{closed.number} not changed")
    expect(page.get_by_role("alert")).to_contain_text("Closed tickets are final")
    screenshot("workspace-bulk-result")
    assert set(Ticket.objects.values_list("status", flat=True)) == {"solved", "closed"}


def test_a_light_agent_writes_an_internal_note_that_looks_like_one(page, agent, screenshot):
    ticket = email_ticket("Broken zipper", "The zipper broke on day one.", "z@example.com", "Ana Souza")
    agent_create(
        username="lena", email="lena@agents.example.com", role="light_agent", password=PASSWORD, actor=Actor.system()
    )
    page.goto("/agent/login/")
    page.get_by_label("Username").fill("lena")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/agent/tickets/{ticket.number}/")
    composer = page.locator("form.composer")
    expect(composer.get_by_label("Public reply")).to_have_count(0)
    expect(composer.get_by_label("Internal note")).to_be_checked()
    expect(composer.get_by_label("Send via")).to_be_hidden()
    expect(composer).to_have_css("background-color", "rgb(254, 249, 195)")  # the note colour
    page.get_by_label("Message").fill("Checked with the warehouse: a known batch problem.")
    composer.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status").first).to_contain_text("Internal note added.")
    expect(page.locator("article.msg.note")).to_contain_text("a known batch problem")
    screenshot("workspace-light-agent-note")


# --- Saved views, breaching soon, links, attachments, directory, shortcuts ----------------------


def test_save_a_view_breaching_soon_link_attach_directory_and_shortcuts(page, agent, screenshot, settings, tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    from tickets.models import SavedView

    settings.MEDIA_ROOT = tmp_path
    parcel = email_ticket("Parcel lost in transit", "No tracking for a week.", "ana.souza@example.com", "Ana Souza")
    invoice = email_ticket("Invoice address is wrong", "Please fix invoice 2291.", "li@example.com", "Li Wei")
    email_ticket("Cannot reset my password", "The link expired.", "omar@example.com", "Omar Haddad")
    ticket_update(ticket=parcel, changes={"priority": "urgent"}, actor=Actor.agent(agent))
    Ticket.objects.update(first_response_due_at=None, next_response_due_at=None, resolution_due_at=None)
    Ticket.objects.filter(pk=invoice.pk).update(first_response_due_at=timezone.now() + timedelta(minutes=40))
    Ticket.objects.filter(pk=parcel.pk).update(resolution_due_at=timezone.now() - timedelta(minutes=5))

    sign_in(page)
    # Save the urgent filter as a view; it appears in the sidebar with its count.
    page.goto("/agent/?queue=all&priority=urgent")
    page.get_by_label("View name").fill("Urgent ones")
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_role("status").first).to_contain_text("View “Urgent ones” saved.")
    saved = page.locator(".saved-views a", has_text="Urgent ones")
    expect(saved).to_have_attribute("aria-current", "page")
    expect(saved.locator(".count")).to_have_text("1")
    expect(page.locator("table.tickets tbody tr")).to_have_count(1)
    screenshot("workspace-saved-view")
    assert SavedView.objects.get().query == "queue=all&priority=urgent"

    # Breaching soon: overdue first, then the one due in 40 minutes.
    page.get_by_role("link", name=re.compile(r"^Breaching soon")).click()
    rows = page.locator("table.tickets tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Parcel lost in transit")
    expect(rows.nth(0).locator("td.due")).to_have_class(re.compile("overdue"))
    expect(rows.nth(1)).to_contain_text("Invoice address is wrong")
    screenshot("workspace-breaching-soon")

    # Keyboard: j moves down, o opens; ? shows the help.
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile("kbd-current"))
    page.keyboard.press("o")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"#{invoice.number} Invoice address is wrong")
    page.wait_for_load_state("load")  # the shortcuts' script runs once the page is parsed
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    screenshot("workspace-shortcuts-help")
    page.keyboard.press("Escape")
    page.keyboard.press("n")
    expect(page.locator("form.composer").get_by_label("Internal note")).to_be_checked()
    expect(page.get_by_label("Message")).to_be_focused()

    # Link the ticket as caused by the parcel one; attach a file to a note.
    page.get_by_text("Link a ticket").click()
    page.get_by_label("Relation").select_option("caused_by")
    page.get_by_label("Ticket number", exact=True).fill(str(parcel.number))
    page.get_by_role("button", name="Link", exact=True).click()
    expect(page.locator(".links-list")).to_contain_text(f"Caused by #{parcel.number} Parcel lost in transit")
    page.keyboard.press("n")
    page.get_by_label("Message").fill("Address proof attached.")
    proof = tmp_path / "address-proof.txt"
    proof.write_text("Rua das Flores 12")
    page.get_by_label("Attach files").set_input_files(str(proof))
    page.locator("form.composer").get_by_role("button", name="Send").click()
    note = page.locator("article.msg.note").last
    expect(note).to_contain_text("Address proof attached.")
    expect(note.get_by_role("link", name="address-proof.txt")).to_be_visible()
    screenshot("workspace-ticket-link-and-attachment")
    page.goto(f"/agent/tickets/{parcel.number}/")
    expect(page.locator(".links-list")).to_contain_text(f"Causes #{invoice.number}")

    # The directory: search, the customer's profile, the organization.
    page.get_by_role("navigation").get_by_role("link", name="Customers").first.click()
    page.get_by_role("searchbox").fill("li@example")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.tickets tbody tr")).to_have_count(1)
    screenshot("workspace-customers")
    page.get_by_role("link", name="Li Wei").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Li Wei")
    expect(page.locator("ol.history")).to_contain_text("Please fix invoice 2291.")
    page.get_by_label("Name", exact=True).fill("Li Wei Zhang")
    page.get_by_role("button", name="Save customer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Li Wei Zhang")
    screenshot("workspace-customer-profile")
    page.get_by_role("link", name="Organizations").click()
    screenshot("workspace-organizations")


# --- Live: two agents on one ticket, over a real ASGI server (HTTP and WebSocket) ----------------


@pytest.fixture
def asgi_server(transactional_db):
    """Daphne serving the project's ASGI application (HTTP and WebSocket) in a child process
    forked from the test process, so it uses the test database, Redis and eager Celery."""
    from daphne.testing import DaphneProcess
    from django.db import connections

    connections.close_all()  # the child must not share the parent's database sockets
    server = DaphneProcess("127.0.0.1", _asgi_application)
    server.start()
    if not server.ready.wait(20):
        server.terminate()
        pytest.fail("Daphne did not start")
    yield f"http://127.0.0.1:{server.port.value}"
    server.terminate()
    server.join(10)


def _asgi_application():
    from channels.layers import channel_layers
    from channels.testing.live import make_application
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    # A forked child must not reuse the parent's Redis channel layer (its pools belong to the
    # parent's sockets and event loops): start with fresh ones.
    channel_layers.backends = {}
    # Nor asgiref's executor for thread-sensitive calls (the consumers' database access): the
    # parent's worker thread does not exist in the child, and work sent to it would never run.
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import SyncToAsync

    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    return make_application(static_wrapper=ASGIStaticFilesHandler)


def _agent_page(browser, base_url, username):
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800}, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/agent/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/agent/$"))
    return context, page


def _shot(page, name):
    from tests.e2e.conftest import MIN_SCREENSHOT_BYTES, SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > MIN_SCREENSHOT_BYTES


def test_two_agents_see_each_others_presence_typing_and_a_note_arrive_live(browser, asgi_server, agent):
    team = agent.agent_profile.teams.get()
    agent_create(
        username="joao", email="joao@agents.example.com", role="agent", password=PASSWORD,
        first_name="João", last_name="Pereira", teams=[team], actor=Actor.system(),
    )  # fmt: skip
    ticket = email_ticket("Parcel lost in transit", "No tracking for a week.", "ana@example.com", "Ana Souza")
    ticket_update(ticket=ticket, changes={"team": team}, actor=Actor.system())
    maria_context, maria = _agent_page(browser, asgi_server, "maria")
    joao_context, joao = _agent_page(browser, asgi_server, "joao")
    try:
        maria.goto(f"/agent/tickets/{ticket.number}/")
        maria.evaluate("window.__notReloaded = true")
        joao.goto(f"/agent/tickets/{ticket.number}/")
        expect(maria.locator("[data-presence-viewers]")).to_have_text("Also viewing: João Pereira", timeout=15_000)
        expect(joao.locator("[data-presence-viewers]")).to_have_text("Also viewing: Maria Lopes", timeout=15_000)

        joao.get_by_label("Internal note").check()
        joao.get_by_label("Message").press_sequentially("I am on it")
        expect(maria.locator("[data-presence-typing]")).to_have_text("João Pereira is typing…")
        _shot(maria, "workspace-presence-typing")

        joao.locator("form.composer").get_by_role("button", name="Send").click()
        expect(maria.locator("article.msg.note")).to_contain_text("I am on it")
        assert maria.evaluate("window.__notReloaded") is True  # it arrived without a reload

        # A status change shows in the sidebar; the list shows a "refresh" banner.
        maria_list = maria_context.new_page()
        maria_list.goto("/agent/?queue=all")
        joao.get_by_label("Message").fill("Solved it.")
        joao.locator("[data-status-select]").select_option("pending")
        joao.locator("form.composer").get_by_role("button", name="Send and set to Pending").click()
        expect(maria.locator("[data-live-status]")).to_have_text("Pending")
        expect(maria_list.locator("[data-live-banner]")).to_be_visible()
        expect(maria_list.locator("[data-live-banner]")).to_contain_text("1 ticket new or updated — refresh")
        _shot(maria_list, "workspace-list-live-banner")

        joao.close()
        expect(maria.locator("[data-presence]")).to_be_hidden()
    finally:
        maria_context.close()
        joao_context.close()
