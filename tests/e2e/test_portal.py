"""A visitor uses the web form in Chromium, then signs in by magic link and finds the ticket."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from channels_inbox.webform.adapter import register_web_adapter
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _web_adapter():
    register_web_adapter()
    from django.core.cache import cache

    cache.clear()


def test_visitor_submits_the_form_then_signs_in_by_magic_link(page, screenshot, live_server, tmp_path):
    attachment = tmp_path / "error-log.txt"
    attachment.write_text("Error 42 at startup\n")

    page.goto("/support/")
    page.get_by_label("Your name").fill("Ana Lima")
    page.get_by_label("Your email address").fill("ana@example.com")
    page.get_by_label("Subject").fill("The app will not start")
    page.get_by_label("Topic").select_option("problem")
    page.get_by_label("How can we help?").fill("Since this morning it crashes on start.")
    page.get_by_label("Attachments").set_input_files(str(attachment))
    screenshot("portal-form")
    page.get_by_role("button", name="Send request").click()

    ticket = Ticket.objects.get()
    assert page.get_by_role("status").get_by_text(f"#{ticket.number}").is_visible()
    assert "confirmation email" not in page.content()
    screenshot("portal-confirmation")
    assert ticket.messages.get().attachments.get().filename == "error-log.txt"

    page.goto("/support/login/")
    page.get_by_label("Your email address").fill("ana@example.com")
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_text("If we know this address").wait_for()
    link = re.search(r"https?://\S+/support/login/link/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="My requests").wait_for()
    assert page.get_by_text("The app will not start").is_visible()
    screenshot("portal-my-requests")

    page.get_by_text("The app will not start").click()
    page.get_by_text("Since this morning it crashes on start.").wait_for()
    page.get_by_label("Your reply").fill("It also happens after a restart.")
    page.get_by_role("button", name="Send reply").click()
    page.get_by_text("Your reply has been added.").wait_for()
    assert ticket.messages.count() == 2
    screenshot("portal-ticket")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/support/")
    screenshot("portal-form-phone")
