"""Automatic answers to new tickets from the knowledge base (KB_AUTO_ANSWER)."""

from __future__ import annotations

import itertools

import pytest
from django.conf import settings as django_settings

from tickets.inbound import InboundMessage, InboundSender
from tickets.models import Event, Message, MessageDirection, TicketStatus
from tickets.services.ingest import message_ingest

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not django_settings.USES_POSTGRES, reason="matching uses PostgreSQL stemming"),
]
_ids = itertools.count(1)


@pytest.fixture
def invoice_article(make_article):
    return make_article("download-invoice", "Download an invoice", "Every invoice is a PDF under Billing → Invoices.")


def _email(django_capture_on_commit_callbacks, subject, body, number=None):
    with django_capture_on_commit_callbacks(execute=True):
        return message_ingest(
            inbound=InboundMessage(
                channel="email",
                sender=InboundSender("email", "ana@example.com", "Ana"),
                subject=subject,
                body_text=body,
                external_id=f"<auto-{next(_ids)}@example.com>",
                ticket_number=number,
            )
        )


def test_a_strong_match_is_answered_with_links_and_the_ticket_waits(
    settings, invoice_article, django_capture_on_commit_callbacks
):
    settings.KB_AUTO_ANSWER = True
    result = _email(django_capture_on_commit_callbacks, "How do I download an invoice?", "I need my invoice.")
    ticket = result.ticket
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PENDING
    reply = Message.objects.get(ticket=ticket, direction=MessageDirection.OUTBOUND)
    assert reply.metadata["kind"] == "kb_auto_answer"
    assert f"{django_settings.SITE_URL}/help/a/download-invoice/?lang=en" in reply.body_text
    assert Event.objects.filter(ticket=ticket, verb="kb_auto_answered").exists()

    # The customer answers "not solved": back to open for a person, with an event saying so.
    _email(django_capture_on_commit_callbacks, "Re: How do I download an invoice?", "Not solved", ticket.number)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert Event.objects.filter(ticket=ticket, verb="kb_auto_answer_declined").count() == 1
    assert Message.objects.filter(ticket=ticket, direction=MessageDirection.OUTBOUND).count() == 1


def test_off_by_default_and_weak_matches_are_left_to_people(
    settings, invoice_article, django_capture_on_commit_callbacks
):
    assert settings.KB_AUTO_ANSWER is False
    quiet = _email(django_capture_on_commit_callbacks, "How do I download an invoice?", "Please help").ticket
    settings.KB_AUTO_ANSWER = True
    weak = _email(django_capture_on_commit_callbacks, "Invoice address is wrong", "Our street changed").ticket
    for ticket in (quiet, weak):
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.NEW
        assert not Message.objects.filter(ticket=ticket, direction=MessageDirection.OUTBOUND).exists()
