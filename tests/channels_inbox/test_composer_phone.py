"""The ticket page's composer for phone channels: the SMS counter, WhatsApp's closed window with
its approved templates (and sending one), the Call button; and phone numbers in E.164."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from channels_inbox.meta.models import WhatsAppTemplate
from tests.factories import CustomerFactory, IdentityFactory, TicketFactory, make_agent
from tickets.identities import InvalidIdentity, normalize
from tickets.models import Message
from tickets.views import ticket_page

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def agent_client(client):
    client.force_login(make_agent("composer-agent"))
    return client


def phone_ticket(channel: str, number: str = "+5511912345678"):
    customer = CustomerFactory(name="Ana Souza")
    IdentityFactory(customer=customer, kind="phone", value=number)
    IdentityFactory(customer=customer, kind="whatsapp", value="+5511987654321")
    return TicketFactory(requester=customer, channel=channel)


@pytest.fixture
def templates():
    approved = WhatsAppTemplate.objects.create(
        name="order_update", language="en_US", body="Hi {{1}}, your order {{2}} has shipped.", approved=True
    )
    WhatsAppTemplate.objects.create(name="draft_offer", language="en_US", body="Buy {{1}}", approved=False)
    return approved


def test_an_sms_reply_shows_characters_and_segments(agent_client):
    ticket = phone_ticket("sms")
    html = agent_client.get(reverse("agent:ticket", args=[ticket.number])).content.decode()
    assert "data-sms-counter" in html
    assert "0 characters · 0 SMS (GSM-7) · 160 left in this SMS" in html
    # the page's script gets the GSM-7 alphabet from segments.py, so both count the same way
    assert 'data-gsm-extension="' in html and "€" in html
    assert "data-whatsapp-closed" not in html.split("data-sms-counter")[0]


def test_a_closed_whatsapp_window_is_explained_and_templates_offered(agent_client, templates):
    ticket = phone_ticket("whatsapp")
    html = agent_client.get(reverse("agent:ticket", args=[ticket.number])).content.decode()
    assert "has never written to you on WhatsApp" in html
    assert reverse("whatsapp:ticket_template", args=[ticket.number]) in html
    assert "order_update (en_US)" in html
    assert "draft_offer" not in html  # not approved by Meta: never offered
    assert html.count(f'id="wa-param-{templates.pk}-') == 2


def test_a_window_closed_for_a_day_says_when_the_customer_last_wrote(agent_client, templates):
    ticket = phone_ticket("whatsapp")
    Message.objects.create(
        ticket=ticket,
        direction="inbound",
        author_kind="customer",
        author_customer=ticket.requester,
        channel="whatsapp",
        body_text="hello",
        created_at=timezone.now() - timedelta(hours=30),
    )
    html = agent_client.get(reverse("agent:ticket", args=[ticket.number])).content.decode()
    assert "more than 24 hours ago" in html
    assert "order_update (en_US)" in html


def test_an_open_window_offers_no_template(agent_client, templates):
    ticket = phone_ticket("whatsapp")
    Message.objects.create(
        ticket=ticket,
        direction="inbound",
        author_kind="customer",
        author_customer=ticket.requester,
        channel="whatsapp",
        body_text="hello",
        created_at=timezone.now() - timedelta(hours=2),
    )
    html = agent_client.get(reverse("agent:ticket", args=[ticket.number])).content.decode()
    assert "data-whatsapp-closed" not in html
    assert "data-template-form" not in html


def test_sending_a_template_from_the_ticket(agent_client, templates, django_capture_on_commit_callbacks):
    ticket = phone_ticket("whatsapp")
    url = reverse("whatsapp:ticket_template", args=[ticket.number])
    response = agent_client.post(url, {"template": templates.pk, "param": ["Ana", ""]}, follow=True)
    assert "Fill in every parameter of the template." in response.content.decode()
    assert not Message.objects.filter(ticket=ticket, direction="outbound").exists()

    response = agent_client.post(url, {"template": templates.pk, "param": ["Ana", "A-17"]}, follow=True)
    assert "Template order_update queued for sending on WhatsApp." in response.content.decode()
    message = Message.objects.get(ticket=ticket, direction="outbound")
    assert message.channel == "whatsapp"
    assert message.body_text == "Hi Ana, your order A-17 has shipped."
    assert message.metadata["whatsapp_template"] == {
        "name": "order_update",
        "language": "en_US",
        "parameters": ["Ana", "A-17"],
    }


def test_an_unapproved_template_cannot_be_sent(agent_client, templates):
    ticket = phone_ticket("whatsapp")
    draft = WhatsAppTemplate.objects.get(name="draft_offer")
    response = agent_client.post(
        reverse("whatsapp:ticket_template", args=[ticket.number]), {"template": draft.pk, "param": ["x"]}, follow=True
    )
    assert "Choose one of the approved WhatsApp templates." in response.content.decode()
    assert not Message.objects.filter(ticket=ticket, direction="outbound").exists()


def test_a_light_agent_cannot_send_a_template(client, templates):
    client.force_login(make_agent("light-one", role="light_agent"))
    ticket = phone_ticket("whatsapp")
    response = client.post(
        reverse("whatsapp:ticket_template", args=[ticket.number]), {"template": templates.pk, "param": ["a", "b"]}
    )
    assert response.status_code in (403, 404)
    assert not Message.objects.filter(ticket=ticket, direction="outbound").exists()


def test_the_call_button_posts_to_the_voice_endpoint(agent_client, settings):
    settings.TWILIO_VOICE_NUMBER = "+14155550100"
    ticket = phone_ticket("sms")
    html = agent_client.get(reverse("agent:ticket", args=[ticket.number])).content.decode()
    assert f'action="{reverse("voice:ticket_call", args=[ticket.number])}"' in html
    assert 'name="agent_phone"' in html
    assert '<option value="+5511912345678">' in html and '<option value="+5511987654321">' in html


def test_no_call_button_without_twilio_voice(agent_client, settings):
    settings.TWILIO_VOICE_NUMBER = ""
    settings.TWILIO_FROM_NUMBER = ""
    ticket = phone_ticket("sms")
    html = agent_client.get(reverse("agent:ticket", args=[ticket.number])).content.decode()
    assert "data-call-form" not in html


def test_an_email_ticket_page_runs_no_extra_query_for_phone_channels(agent_client, monkeypatch):
    ticket = TicketFactory(requester=IdentityFactory(kind="email").customer)
    url = reverse("agent:ticket", args=[ticket.number])
    agent_client.get(url)
    with CaptureQueriesContext(connection) as with_providers:
        html = agent_client.get(url).content.decode()
    monkeypatch.setattr(ticket_page, "_composer_providers", [])
    with CaptureQueriesContext(connection) as without:
        agent_client.get(url)
    assert len(with_providers) == len(without)
    assert "data-sms-counter" not in html and "data-template-form" not in html


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("phone", "+1 (415) 555-0100", "+14155550100"),
        ("phone", "tel:+44 20 7946 0000", "+442079460000"),
        ("phone", "0044 20 7946 0000", "+442079460000"),
        ("whatsapp", "whatsapp:+55 11 91234-5678", "+5511912345678"),
        ("whatsapp", "5511912345678", "+5511912345678"),  # a wa_id is always international
    ],
)
def test_phone_numbers_are_stored_in_e164(kind, raw, expected):
    assert normalize(kind, raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("020 7946 0000", "has no country code"),
        ("+44 20 7946 0000 1234", "too long"),
        ("+999 1234567", "is not a phone number"),
        ("call me", "is not a phone number"),
    ],
)
def test_invalid_phone_numbers_are_refused_with_the_reason(raw, reason):
    with pytest.raises(InvalidIdentity, match=reason):
        normalize("phone", raw)


def test_a_default_region_reads_national_numbers(settings):
    settings.HELPDESK_DEFAULT_PHONE_REGION = "GB"
    assert normalize("phone", "020 7946 0000") == "+442079460000"
    assert normalize("phone", "+1 415 555 0100") == "+14155550100"
