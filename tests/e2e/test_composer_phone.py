"""Phone channels in Chromium: the SMS counter follows what the agent types (GSM-7, then UCS-2
with an emoji, then two segments), WhatsApp's closed window is explained before sending with
the approved templates offered, and likely duplicate customers link to a merge review."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from channels_inbox.meta.models import WhatsAppTemplate
from tests.factories import CustomerFactory, IdentityFactory, OrganizationFactory, TicketFactory
from tickets.models import Message
from tickets.services.agents import agent_create
from tickets.services.events import Actor

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery-7"


@pytest.fixture
def agent():
    return agent_create(
        username="paula", email="paula@agents.example.com", role="agent", password=PASSWORD, actor=Actor.system()
    )


def sign_in(page) -> None:
    page.goto("/agent/login/")
    page.get_by_label("Username").fill("paula")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/agent/$"))


def phone_customer():
    customer = CustomerFactory(name="Ana Souza")
    IdentityFactory(customer=customer, kind="phone", value="+5511912345678")
    IdentityFactory(customer=customer, kind="whatsapp", value="+5511987655678")
    return customer


def test_the_sms_counter_follows_the_text(page, agent, screenshot, settings):
    settings.TWILIO_VOICE_NUMBER = "+14155550100"
    ticket = TicketFactory(requester=phone_customer(), channel="sms", subject="Delivery time")
    sign_in(page)
    page.goto(f"/agent/tickets/{ticket.number}/")
    counter = page.locator("[data-sms-counter]")
    expect(counter).to_be_visible()
    expect(counter).to_contain_text("0 characters · 0 SMS (GSM-7) · 160 left")
    body = page.locator("textarea[name='reply-body']")
    body.fill("Your parcel arrives tomorrow between 9 and 12.")
    expect(counter).to_contain_text("46 characters · 1 SMS (GSM-7) · 114 left")
    body.fill("Your parcel arrives tomorrow 🚚")
    expect(counter).to_contain_text("30 characters · 1 SMS (UCS-2) · 39 left")
    body.fill("x" * 161)
    expect(counter).to_contain_text("161 characters · 2 SMS (GSM-7) · 145 left")
    expect(page.locator("[data-call-form]")).to_be_visible()
    screenshot("composer-sms-counter")

    # an internal note is not an SMS: no counter
    page.get_by_label("Internal note").check()
    expect(counter).to_be_hidden()


def test_a_closed_whatsapp_window_offers_the_approved_templates(page, agent, screenshot):
    WhatsAppTemplate.objects.create(
        name="order_update", language="en_US", body="Hi {{1}}, your order {{2}} has shipped.", approved=True
    )
    WhatsAppTemplate.objects.create(name="follow_up", language="en_US", body="Any news, {{1}}?", approved=True)
    ticket = TicketFactory(requester=phone_customer(), channel="whatsapp", subject="Where is my order?")
    sign_in(page)
    page.goto(f"/agent/tickets/{ticket.number}/")
    notice = page.locator("[data-whatsapp-closed]")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("never written to you on WhatsApp")
    expect(page.locator("[data-send-button]")).to_be_disabled()

    form = page.locator("[data-template-form]")
    expect(form).to_be_visible()
    form.get_by_label("Template").select_option(label="order_update (en_US)")
    form.get_by_role("textbox", name="Parameter 1").fill("Ana")
    form.get_by_role("textbox", name="Parameter 2").fill("A-17")
    screenshot("composer-whatsapp-closed-window")
    form.get_by_role("button", name="Send template").click()
    expect(page.get_by_text("Template order_update queued for sending on WhatsApp.")).to_be_visible()
    message = Message.objects.get(ticket=ticket, direction="outbound")
    assert message.body_text == "Hi Ana, your order A-17 has shipped."

    # switching the reply to an internal note re-enables Send and hides the WhatsApp panel
    page.get_by_label("Internal note").check()
    expect(page.locator("[data-send-button]")).to_be_enabled()
    expect(notice).to_be_hidden()


def test_likely_duplicates_link_to_the_merge_review(page, agent, screenshot):
    acme = OrganizationFactory(name="Acme Freight")
    sms = CustomerFactory(name="Ana Souza", organization=acme)
    IdentityFactory(customer=sms, kind="phone", value="+5511912345678")
    wa = CustomerFactory(name="Ana S.")
    IdentityFactory(customer=wa, kind="whatsapp", value="+5511912345678")
    first = CustomerFactory(name="Dana Lee", organization=acme)
    second = CustomerFactory(name="Dana Lee", organization=acme)
    sign_in(page)
    page.goto("/agent/customers/duplicates/")
    expect(page.get_by_role("heading", name="Likely duplicate customers")).to_be_visible()
    expect(page.get_by_text("Same phone number +5511912345678")).to_be_visible()
    expect(page.get_by_text("Same name in the same organization")).to_be_visible()
    links = page.get_by_role("link", name="Review merge")
    expect(links).to_have_count(2)
    expect(links.first).to_have_attribute("href", f"/agent/customers/{sms.pk}/merge/?source={wa.pk}")
    expect(links.nth(1)).to_have_attribute("href", f"/agent/customers/{first.pk}/merge/?source={second.pk}")
    screenshot("customer-duplicates")
