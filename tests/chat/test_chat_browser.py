"""Live chat in Chromium over a real ASGI server (HTTP and WebSocket): a visitor chats through
the embedded widget in one browser context while an agent answers from the chat console in
another; both see messages live, the transcript is on the ticket, the visitor rates the chat.
After hours a chat becomes a ticket with an email follow-up. Screenshots of the widget and
the console at desktop (1280) and phone (375) widths."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from channels_inbox.chat.models import ChatSession
from metrics.models import Survey
from tests.factories import make_agent
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery-7"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}


@pytest.fixture(autouse=True)
def _surveys(settings):
    settings.METRICS_SURVEY_SAMPLE_PERCENT = 100


def _shot(page, name):
    from tests.e2e.conftest import MIN_SCREENSHOT_BYTES, SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size > MIN_SCREENSHOT_BYTES


def _context(browser, base_url, viewport, locale="en-US"):
    context = browser.new_context(base_url=base_url, viewport=viewport, locale=locale)
    context.set_default_timeout(15_000)
    return context


def _agent_console(browser, base_url, viewport=DESKTOP):
    context = _context(browser, base_url, viewport)
    page = context.new_page()
    page.goto("/agent/login/")
    page.get_by_label("Username").fill("maria")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/agent/$"))
    page.get_by_role("link", name="Chats").click()
    expect(page.locator("[data-chat-console][data-online]")).to_be_attached()
    return context, page


def _open_widget(browser, base_url, viewport=DESKTOP, locale="en-US"):
    context = _context(browser, base_url, viewport, locale)
    page = context.new_page()
    page.goto("/chat/demo/")
    page.get_by_role("button", name="Chat", exact=True).click()
    frame = page.frame_locator("iframe[title=Chat]")
    expect(frame.locator("body[data-ready]")).to_be_attached()
    return context, page, frame


@pytest.fixture
def maria(transactional_db):
    return make_agent("maria", password=PASSWORD)


def test_a_visitor_and_an_agent_chat_live_and_the_transcript_is_on_the_ticket(browser, asgi_server, maria):
    agent_context, console = _agent_console(browser, asgi_server)
    visitor_context, site, chat = _open_widget(browser, asgi_server)

    # The pre-chat form, then the first message.
    expect(chat.get_by_role("button", name="Start chat", exact=True)).to_be_visible()
    chat.get_by_label("Name", exact=True).fill("Ana Souza")
    chat.get_by_label("Email", exact=True).fill("ana@example.com")
    chat.get_by_role("button", name="Start chat", exact=True).click()
    chat.get_by_label("Your message").fill("My parcel has not arrived")
    chat.get_by_role("button", name="Send", exact=True).click()
    expect(chat.locator(".chat-visitor", has_text="My parcel has not arrived")).to_be_visible()
    # The bot answers first; with nothing in the knowledge base it fetches a person.
    expect(chat.locator(".chat-bot", has_text="Let me find a person")).to_be_visible()

    # The agent sees the chat waiting, takes it, and both talk live.
    waiting = console.locator("[data-queue] li", has_text="Ana Souza")
    expect(waiting).to_be_visible()
    waiting.get_by_role("button", name="Take", exact=True).click()
    expect(console.locator(".cc-visitor", has_text="My parcel has not arrived")).to_be_visible()
    expect(chat.locator(".chat-notice", has_text="joined the chat")).to_be_visible()
    console.get_by_label("Your answer").fill("Sorry! Let me check the tracking.")
    console.get_by_label("Your answer").press("Enter")
    expect(chat.locator(".chat-agent", has_text="Sorry! Let me check the tracking.")).to_be_visible()
    expect(console.locator("[data-chat-seen]")).to_be_visible()  # the visitor has the panel open: read
    chat.get_by_label("Your message").fill("Thanks, order 4411")
    expect(console.locator("[data-chat-typing]")).to_be_visible()
    chat.get_by_label("Your message").press("Enter")
    expect(console.locator(".cc-visitor", has_text="Thanks, order 4411")).to_be_visible()

    # A video call link from the console reaches the visitor and is recorded on the ticket.
    console.get_by_role("button", name="Start video call", exact=True).click()
    expect(chat.locator(".chat-agent a[href^='https://meet.jit.si/helpdesk-']")).to_be_visible()

    _shot(site, "chat-widget-desktop")
    _shot(console, "chat-console-desktop")

    # The agent ends the chat; the visitor is asked to rate it.
    console.get_by_role("button", name="End chat", exact=True).click()
    expect(chat.get_by_text("How did we do?")).to_be_visible()
    chat.get_by_role("button", name="5 of 5", exact=True).click()
    expect(chat.get_by_text("Thank you for your rating.")).to_be_visible()

    ticket = Ticket.objects.get(channel="chat")
    transcript = list(ticket.messages.order_by("created_at", "id").values_list("direction", "channel", "body_text"))
    assert ("inbound", "chat", "My parcel has not arrived") in transcript
    assert ("outbound", "chat", "Sorry! Let me check the tracking.") in transcript
    assert ("inbound", "chat", "Thanks, order 4411") in transcript
    assert ticket.events.filter(verb="video_call_started").exists()
    assert ticket.status == "solved" and ticket.assignee == maria
    assert Survey.objects.get(ticket=ticket).score == 5
    assert ticket.requester.identities.filter(kind="email", value="ana@example.com").exists()

    # Phone width: the panel fills the screen; the console stacks.
    phone = _context(browser, asgi_server, PHONE)
    phone_page = phone.new_page()
    phone_page.goto("/chat/demo/")
    phone_page.get_by_role("button", name="Chat", exact=True).click()
    phone_chat = phone_page.frame_locator("iframe[title=Chat]")
    expect(phone_chat.locator("body[data-ready]")).to_be_attached()
    phone_chat.get_by_role("button", name="Skip", exact=True).click()
    phone_chat.get_by_label("Your message").fill("Hello from my phone")
    phone_chat.get_by_label("Your message").press("Enter")
    expect(phone_chat.locator(".chat-visitor", has_text="Hello from my phone")).to_be_visible()
    box = phone_page.locator("iframe[title=Chat]").bounding_box()
    assert box["width"] == 375
    _shot(phone_page, "chat-widget-phone")
    console.set_viewport_size(PHONE)
    console.locator("[data-queue] li").first.get_by_role("button").first.click()
    expect(console.locator(".cc-visitor", has_text="Hello from my phone")).to_be_visible()
    _shot(console, "chat-console-phone")
    for context in (phone, visitor_context, agent_context):
        context.close()


def test_the_visitor_is_remembered_across_pages(browser, asgi_server, maria):
    agent_context, _console = _agent_console(browser, asgi_server)
    context, site, chat = _open_widget(browser, asgi_server)
    chat.get_by_role("button", name="Skip", exact=True).click()
    chat.get_by_label("Your message").fill("First page question")
    chat.get_by_label("Your message").press("Enter")
    expect(chat.locator(".chat-visitor", has_text="First page question")).to_be_visible()
    site.goto("/chat/demo/?page=2")  # another page of the site: the panel reopens with the conversation
    chat = site.frame_locator("iframe[title=Chat]")
    expect(chat.locator(".chat-visitor", has_text="First page question")).to_be_visible()
    assert ChatSession.objects.count() == 1
    context.close()
    agent_context.close()


def test_after_hours_the_chat_becomes_a_ticket_with_an_email_follow_up(browser, asgi_server, maria, smtp_mailbox):
    # Nobody has the console open: the widget says so and the chat is left as a ticket.
    context, site, chat = _open_widget(browser, asgi_server, locale="pt-BR")
    expect(chat.locator("html[lang=pt-br]")).to_be_attached()
    expect(chat.locator("body[data-state=new] [data-offline]")).to_be_visible()
    chat.locator("[data-text]").fill("Vocês abrem no domingo?")
    chat.locator("[data-composer] button[type=submit]").click()
    expect(chat.locator(".chat-visitor", has_text="Vocês abrem no domingo?")).to_be_visible()
    expect(chat.locator("body[data-state=offline]")).to_be_attached()
    chat.locator("[data-offline-form] input[name=email]").fill("bia@example.com")
    chat.locator("[data-offline-form] button").click()
    expect(chat.locator("[data-offline-saved]")).to_be_visible()
    _shot(site, "chat-widget-offline")

    ticket = Ticket.objects.get(channel="chat")
    assert ticket.messages.filter(direction="inbound", body_text="Vocês abrem no domingo?").exists()
    assert ticket.language == "pt-br"
    [sent] = smtp_mailbox.wait_for(1)
    assert sent.rcpt_tos == ["bia@example.com"]
    assert f"#{ticket.number}" in sent.message.get_body(("plain",)).get_content()
    assert ChatSession.objects.get().state == "offline"
    context.close()
