"""WhatsApp outside the 24-hour window: free text is refused with a clear, translatable reason
naming the approved templates; an approved template goes out in the Cloud API's template
format; attachments of a reply go out as media messages by (signed) link."""

from __future__ import annotations

import hashlib
import time
import urllib.parse

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from channels_inbox.meta import whatsapp
from channels_inbox.meta.models import WhatsAppTemplate
from channels_inbox.meta.whatsapp import whatsapp_template_send
from tests.factories import IdentityFactory, TicketFactory, make_agent
from tickets.models import Attachment, DeliveryStatus, Message
from tickets.services.delivery import message_deliver
from tickets.services.tickets import ticket_reply

from .conftest import post_signed, wa_body, wa_text

pytestmark = [pytest.mark.django_db]

WA_ID = "5511912345678"


def customer_wrote(client, capture, *, hours_ago: float):
    ts = int(time.time() - hours_ago * 3600)
    with capture(execute=True):
        assert post_signed(client, wa_body([wa_text(f"wamid.IN{ts}", "Help please", ts=ts)])).status_code == 200
    return Message.objects.get(external_id=f"wamid.IN{ts}").ticket


@pytest.fixture
def order_update():
    return WhatsAppTemplate.objects.create(
        name="order_update", language="en_US", body="Hi {{1}}, your order {{2}} has shipped.", approved=True
    )


def test_the_window_reason_is_marked_for_translation():
    # gettext_noop: the literal is extracted by makemessages and translated when shown.
    assert whatsapp.WINDOW_REASON == "outside WhatsApp's 24-hour window: send an approved template"
    source = open(whatsapp.__file__, encoding="utf-8").read()
    assert 'WINDOW_REASON = gettext_noop("outside' in source


def test_free_text_outside_the_window_names_the_approved_templates(
    client, meta, order_update, django_capture_on_commit_callbacks
):
    WhatsAppTemplate.objects.create(name="draft_one", language="en_US", body="x", approved=False)
    ticket = customer_wrote(client, django_capture_on_commit_callbacks, hours_ago=30)
    message = ticket_reply(ticket=ticket, author=make_agent("wa-late"), body_text="Hello again", channel="whatsapp")
    assert message_deliver(message_id=message.pk) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert message.delivery_error == (
        "Not sent: outside WhatsApp's 24-hour window: send an approved template. Approved templates: order_update."
    )
    assert meta.posts() == []


def test_an_approved_template_is_sent_outside_the_window_in_the_template_format(
    client, meta, order_update, django_capture_on_commit_callbacks
):
    ticket = customer_wrote(client, django_capture_on_commit_callbacks, hours_ago=30)
    with django_capture_on_commit_callbacks(execute=True):
        message = whatsapp_template_send(
            ticket=ticket, template=order_update, parameters=["Ana", "A-1001"], author=make_agent("wa-template")
        )
    message.refresh_from_db()
    assert message.body_text == "Hi Ana, your order A-1001 has shipped."  # what the agent sees on the ticket
    assert message.delivery_status == DeliveryStatus.SENT
    (call,) = meta.posts()
    assert call.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_ID,
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "A-1001"}]}
            ],
        },
    }


def test_templates_must_be_approved_and_fully_filled_in(order_update):
    identity = IdentityFactory(kind="whatsapp", value="+" + WA_ID)
    ticket = TicketFactory(channel="whatsapp", requester=identity.customer)
    agent = make_agent("wa-check")
    with pytest.raises(ValidationError, match="needs 2 parameters"):
        whatsapp_template_send(ticket=ticket, template=order_update, parameters=["Ana"], author=agent)
    order_update.approved = False
    with pytest.raises(ValidationError, match="approved"):
        whatsapp_template_send(ticket=ticket, template=order_update, parameters=["Ana", "1"], author=agent)
    with pytest.raises(ValidationError):
        WhatsAppTemplate(name="Bad Name", language="en_US", body="{{2}}").full_clean()


def test_attachments_go_out_as_media_messages_by_link(client, meta, django_capture_on_commit_callbacks):
    ticket = customer_wrote(client, django_capture_on_commit_callbacks, hours_ago=1)
    message = ticket_reply(ticket=ticket, author=make_agent("wa-media"), body_text="The manual", channel="whatsapp")
    content = b"%PDF-1.4 manual"
    digest = hashlib.sha256(content).hexdigest()
    attachment = Attachment(
        message=message, filename="manual.pdf", content_type="application/pdf", size=len(content), sha256=digest
    )
    attachment.file.save(digest, ContentFile(content), save=False)
    attachment.save()
    assert message_deliver(message_id=message.pk) == DeliveryStatus.SENT
    (call,) = meta.posts()
    body = call.json()
    assert body["type"] == "document"
    assert body["document"]["filename"] == "manual.pdf" and body["document"]["caption"] == "The manual"
    link = body["document"]["link"]
    assert link.startswith("http://127.0.0.1:8000/inbound/media/")
    response = client.get(urllib.parse.urlsplit(link).path)
    assert b"".join(response.streaming_content) == content
