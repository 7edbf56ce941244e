"""The one ingest service: dedupe, identity, threading, attachments, events."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.test import override_settings

from tests.factories import OrganizationFactory, make_agent
from tickets.inbound import InboundAttachment, InboundMessage, InboundSender
from tickets.models import (
    Attachment,
    Customer,
    Event,
    Identity,
    Message,
    OrganizationDomain,
    RawInbound,
    RawInboundStatus,
    Ticket,
    TicketStatus,
)
from tickets.services.events import Actor
from tickets.services.ingest import InboundRejected, message_ingest, raw_inbound_store
from tickets.services.tickets import ticket_change_status, ticket_reply

pytestmark = pytest.mark.django_db


def sms(text: str, sid: str, number: str = "+1 (415) 555-0100") -> InboundMessage:
    return InboundMessage(channel="sms", sender=InboundSender("phone", number), body_text=text, external_id=sid)


def email(text: str, message_id: str, sender: str = "Ana Souza <ana@example.com>", **kw) -> InboundMessage:
    return InboundMessage(
        channel="email",
        sender=InboundSender("email", sender),
        subject=kw.pop("subject", "Order 123 never arrived"),
        body_text=text,
        external_id=message_id,
        **kw,
    )


def test_the_same_inbound_delivered_five_times_yields_one_message():
    results = []
    for _ in range(5):
        raw, _created = raw_inbound_store(channel="sms", payload=b"Body=Hello&MessageSid=SM1", external_id="SM1")
        results.append(message_ingest(inbound=sms("Hello, my card was charged twice", "SM1"), raw=raw))

    assert Message.objects.count() == 1
    assert Ticket.objects.count() == 1
    assert Customer.objects.count() == 1
    assert [r.duplicate for r in results] == [False, True, True, True, True]
    assert {r.message.pk for r in results} == {results[0].message.pk}
    raw = RawInbound.objects.get()
    assert raw.deliveries == 5
    assert raw.status == RawInboundStatus.PROCESSED
    assert Event.objects.filter(verb="message_received").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_store_one_message():
    """Two workers receiving the same provider message at the same moment."""
    if connection.vendor != "postgresql":
        pytest.skip("needs a database with concurrent writers (PostgreSQL)")

    def deliver(_):
        try:
            return message_ingest(inbound=sms("Where is my refund?", "SM-race")).duplicate
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(deliver, range(4)))

    assert Message.objects.filter(external_id="SM-race").count() == 1
    assert Ticket.objects.count() == 1
    assert Identity.objects.count() == 1
    assert sorted(outcomes) == [False, True, True, True]


def test_a_new_sender_becomes_a_customer_with_a_normalised_identity():
    result = message_ingest(inbound=email("Hi", "<m1@example.com>", sender="Ana Souza <ANA@Example.COM>"))

    assert result.created_ticket
    identity = Identity.objects.get()
    assert (identity.kind, identity.value) == ("email", "ana@example.com")
    assert result.customer.name == "Ana Souza"
    assert result.ticket.requester == result.customer
    assert result.ticket.status == TicketStatus.NEW
    assert result.ticket.subject == "Order 123 never arrived"


def test_a_sender_from_a_known_company_domain_is_linked_to_the_organization():
    org = OrganizationFactory(name="Acme")
    OrganizationDomain.objects.create(organization=org, domain="@ACME.com")
    result = message_ingest(inbound=email("Hi", "<m2@acme.com>", sender="bob@acme.com"))

    assert result.customer.organization == org
    assert result.ticket.organization == org


def test_a_reply_from_a_known_phone_lands_on_the_customers_open_ticket():
    first = message_ingest(inbound=sms("My internet is down", "SM10", number="+44 20 7946 0000"))
    second = message_ingest(inbound=sms("Still down, any news?", "SM11", number="00442079460000"))

    assert not second.created_ticket
    assert second.ticket.pk == first.ticket.pk
    assert list(first.ticket.messages.values_list("body_text", flat=True)) == [
        "My internet is down",
        "Still down, any news?",
    ]


def test_whatsapp_from_a_number_known_by_sms_is_the_same_customer_and_ticket():
    first = message_ingest(inbound=sms("Card blocked", "SM20", number="+55 11 91234-5678"))
    second = message_ingest(
        inbound=InboundMessage(
            channel="whatsapp",
            sender=InboundSender("whatsapp", "5511912345678"),
            body_text="Writing here instead",
            external_id="wamid.A1",
        )
    )

    assert second.customer == first.customer
    assert second.ticket == first.ticket
    kinds = set(first.customer.identities.values_list("kind", flat=True))
    assert kinds == {"phone", "whatsapp"}
    link = Event.objects.get(object_type="customer", verb="identity_added", new_value__kind="whatsapp")
    assert "same number" in link.data["reason"]


def test_an_email_reply_threads_by_in_reply_to_onto_the_ticket():
    first = message_ingest(inbound=email("Where is my order?", "<q1@example.com>"))
    agent = make_agent("alice")
    reply = ticket_reply(ticket=first.ticket, author=agent, body_text="It ships tomorrow.")
    Message.objects.filter(pk=reply.pk).update(external_id="<a1@helpdesk.example>")

    answer = message_ingest(
        inbound=email("Thanks!", "<q2@example.com>", subject="Re: Order", in_reply_to=("<a1@helpdesk.example>",))
    )

    assert answer.ticket == first.ticket
    assert not answer.created_ticket


def test_a_new_email_without_references_opens_a_new_ticket():
    first = message_ingest(inbound=email("Question one", "<n1@example.com>"))
    second = message_ingest(inbound=email("A different question", "<n2@example.com>", subject="Invoice copy"))

    assert second.created_ticket
    assert second.ticket != first.ticket
    assert second.customer == first.customer


def test_a_ticket_number_from_the_subject_threads_only_for_that_customer():
    own = message_ingest(inbound=email("Hi", "<t1@example.com>"))
    stranger = message_ingest(
        inbound=email("Hijack", "<t2@example.com>", sender="eve@evil.example", ticket_number=own.ticket.number)
    )
    mine = message_ingest(inbound=email("More", "<t3@example.com>", ticket_number=own.ticket.number))

    assert stranger.ticket != own.ticket
    assert mine.ticket == own.ticket


def test_a_customer_reply_reopens_a_pending_or_solved_ticket():
    first = message_ingest(inbound=sms("Help", "SM30"))
    agent = make_agent("bruno")
    ticket_reply(ticket=first.ticket, author=agent, body_text="Did that fix it?")
    ticket_change_status(ticket=first.ticket, status=TicketStatus.SOLVED, actor=Actor.agent(agent))

    again = message_ingest(inbound=sms("No, still broken", "SM31"))

    again.ticket.refresh_from_db()
    assert again.ticket == first.ticket
    assert again.ticket.status == TicketStatus.OPEN
    assert again.ticket.solved_at is None
    assert Event.objects.filter(ticket=again.ticket, verb="reopened", actor_kind="customer").exists()


def test_a_message_about_a_closed_ticket_opens_a_linked_follow_up():
    first = message_ingest(inbound=email("Help", "<c1@example.com>"))
    agent = make_agent("carla")
    reply = ticket_reply(ticket=first.ticket, author=agent, body_text="Done.")
    Message.objects.filter(pk=reply.pk).update(external_id="<c-reply@helpdesk.example>")
    ticket_change_status(ticket=first.ticket, status=TicketStatus.SOLVED, actor=Actor.agent(agent))
    ticket_change_status(ticket=first.ticket, status=TicketStatus.CLOSED, actor=Actor.agent(agent))

    later = message_ingest(
        inbound=email("It broke again", "<c2@example.com>", in_reply_to=("<c-reply@helpdesk.example>",))
    )

    assert later.created_ticket
    assert later.ticket.follow_up_of == first.ticket
    first.ticket.refresh_from_db()
    assert first.ticket.status == TicketStatus.CLOSED


def test_an_auto_reply_that_answers_nothing_opens_no_ticket_but_is_kept_raw():
    raw, _ = raw_inbound_store(
        channel="email", payload=b"Auto-Submitted: auto-replied\r\n\r\nI am away", external_id="<ooo@x>"
    )
    result = message_ingest(inbound=email("I am out of office", "<ooo@x>", is_auto_reply=True), raw=raw)

    assert result.message is None and result.ticket is None
    assert Ticket.objects.count() == 0
    raw.refresh_from_db()
    assert raw.status == RawInboundStatus.IGNORED
    assert "Automatic reply" in raw.error
    assert bytes(raw.payload).endswith(b"I am away")


def test_cc_recipients_become_followers():
    result = message_ingest(
        inbound=email(
            "Looping in my colleague",
            "<cc1@example.com>",
            cc=(InboundSender("email", "Colleague <col@example.com>"), InboundSender("email", "not-an-address")),
        )
    )
    assert [c.name for c in result.ticket.followers.all()] == ["Colleague"]


def test_html_is_sanitised_and_a_text_version_kept():
    result = message_ingest(
        inbound=InboundMessage(
            channel="email",
            sender=InboundSender("email", "x@example.com"),
            subject="Hi",
            body_html=(
                '<p onclick="steal()">Hello <b>there</b></p><script>alert(1)</script>'
                '<a href="javascript:x()">link</a>'
            ),
            external_id="<h1@example.com>",
        )
    )
    html = result.message.body_html
    assert "<script" not in html and "onclick" not in html and "javascript:" not in html
    assert "<b>there</b>" in html
    assert result.message.body_text.startswith("Hello there")


@override_settings(HELPDESK_MAX_ATTACHMENT_BYTES=1000)
def test_attachments_are_stored_once_and_oversized_ones_are_noted_not_lost(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    pdf = InboundAttachment("invoice.pdf", "application/pdf", b"%PDF-1.4 small")
    huge = InboundAttachment("video.mp4", "video/mp4", b"0" * 5000)
    first = message_ingest(inbound=email("See attached", "<a1@example.com>", attachments=(pdf, huge)))
    message_ingest(inbound=email("Again", "<a2@example.com>", attachments=(pdf,)))

    stored = Attachment.objects.filter(filename="invoice.pdf")
    assert stored.count() == 2
    assert len({a.file.name for a in stored}) == 1, "the same bytes are kept once on disk"
    assert stored.first().file.read() == b"%PDF-1.4 small"
    refused = Attachment.objects.get(filename="video.mp4")
    assert not refused.stored and refused.size == 5000 and not refused.file
    first.message.refresh_from_db()
    assert first.message.metadata["attachments_refused"]["files"] == [{"filename": "video.mp4", "size": 5000}]


def test_unusable_senders_and_channels_are_refused_clearly():
    with pytest.raises(InboundRejected, match="not an email address"):
        message_ingest(inbound=email("x", "<bad@x>", sender="nobody"))
    with pytest.raises(InboundRejected, match="Unknown channel"):
        message_ingest(inbound=InboundMessage(channel="pigeon", sender=InboundSender("email", "a@b.c")))
    assert Ticket.objects.count() == 0 and Customer.objects.count() == 0


def test_a_raw_payload_survives_when_processing_fails():
    raw, _ = raw_inbound_store(channel="email", payload=b"garbage", external_id="<broken@x>")
    with pytest.raises(InboundRejected):
        message_ingest(inbound=email("x", "<broken@x>", sender="???"), raw=raw)
    assert RawInbound.objects.filter(pk=raw.pk, payload=b"garbage").exists()


def test_every_step_of_an_ingest_leaves_an_event():
    result = message_ingest(inbound=sms("First contact", "SM40"))
    verbs = list(Event.objects.order_by("id").values_list("object_type", "verb"))
    assert verbs == [
        ("customer", "created"),
        ("customer", "identity_added"),
        ("ticket", "created"),
        ("message", "message_received"),
    ]
    created = Event.objects.get(verb="created", object_type="ticket")
    assert created.ticket == result.ticket and created.actor_customer == result.customer
