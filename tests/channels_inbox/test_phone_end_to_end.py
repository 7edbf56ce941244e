"""End to end over HTTP: a customer texts by SMS (Twilio webhook), then writes on WhatsApp from
the same number (Meta webhook); the agent sees one customer and one ticket, answers on WhatsApp
from the workspace (through a local Graph API), and WhatsApp's status callback marks the
answer delivered."""

from __future__ import annotations

import time

import pytest

from tests.channels_inbox.meta.conftest import (  # noqa: F401  (fixtures)
    graph_api,
    meta,
    meta_adapters,
    wa_body,
    wa_text,
)
from tests.channels_inbox.meta.conftest import post_signed as meta_post
from tests.channels_inbox.twilio.conftest import (  # noqa: F401  (fixtures)
    SMS_URL,
    sms_adapter,
    sms_params,
    twilio,
    twilio_api,
)
from tests.channels_inbox.twilio.conftest import post_signed as twilio_post
from tests.factories import make_agent
from tickets.models import Customer, DeliveryStatus, Message, Ticket

pytestmark = pytest.mark.django_db

NUMBER = "+14155550100"
WA_ID = "14155550100"


def test_sms_then_whatsapp_is_one_customer_answered_on_whatsapp_and_delivered(
    client,
    twilio,  # noqa: F811
    meta,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = twilio_post(client, SMS_URL, sms_params("SM" + "1" * 32, "My internet is down", NUMBER))
    assert response.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        payload = wa_body([wa_text("wamid.IN1", "Writing here instead", wa_id=WA_ID, ts=int(time.time()))], wa_id=WA_ID)
        assert meta_post(client, payload).status_code == 200

    customer = Customer.objects.get()
    assert sorted(customer.identities.values_list("kind", "value")) == [("phone", NUMBER), ("whatsapp", NUMBER)]
    ticket = Ticket.objects.get()
    assert [(m.channel, m.body_text) for m in ticket.messages.order_by("created_at", "id")] == [
        ("sms", "My internet is down"),
        ("whatsapp", "Writing here instead"),
    ]

    agent = make_agent("e2e-agent")
    client.force_login(agent)
    page = client.get(f"/agent/tickets/{ticket.number}/")
    assert page.status_code == 200
    assert b"My internet is down" in page.content and b"Writing here instead" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/agent/tickets/{ticket.number}/reply/",
            {
                "reply-body": "A technician is on the way.",
                "reply-kind": "public",
                "reply-channel": "whatsapp",
                "reply-intent": "send",
            },
        )
    assert response.status_code in (200, 302)
    reply = Message.objects.get(direction="outbound", author_user=agent)
    assert reply.channel == "whatsapp" and reply.delivery_status == DeliveryStatus.SENT
    (sent,) = meta.posts()
    assert sent.json()["to"] == WA_ID and sent.json()["text"]["body"] == "A technician is on the way."
    assert twilio.requests == []  # nothing went by SMS

    client.logout()
    status = {"id": reply.external_id, "status": "delivered", "timestamp": str(int(time.time())), "recipient_id": WA_ID}
    with django_capture_on_commit_callbacks(execute=True):
        assert meta_post(client, wa_body(statuses=[status])).status_code == 200
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.DELIVERED
