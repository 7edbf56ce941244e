"""A digit reply that answers a survey is claimed by metrics inside ingest (tickets/inbound.py
claim hooks): the ticket never leaves solved, so no reopen, no SLA clock, no "customer waiting"
and no ticket.updated webhook, while the answer is recorded and the message is on the timeline."""

from __future__ import annotations

import pytest

from metrics.models import Survey
from tickets.inbound import inbound_claim_register
from tickets.models import Event, Message, Ticket
from tickets.tasks import message_ingested_task
from webhooks.models import WebhookEventType
from webhooks.services import event_webhook_types

from .test_survey_invitations import _sms, sms_survey  # noqa: F401 (fixture)

pytestmark = [pytest.mark.django_db]


def test_digit_reply_never_reopens_the_ticket(sms_survey):  # noqa: F811
    ticket = Ticket.objects.get(pk=sms_survey.ticket_id)
    assert ticket.status == "solved"
    waiting_since = ticket.last_customer_message_at
    last_event = Event.objects.order_by("-pk").values_list("pk", flat=True).first()

    reply = _sms("5 great help", "SM-CLAIM-1")

    # Right after ingest (before any after-commit task): still solved, answer already recorded.
    assert reply.ticket.pk == ticket.pk
    ticket.refresh_from_db()
    assert ticket.status == "solved"
    assert ticket.last_customer_message_at == waiting_since
    survey = Survey.objects.get(pk=sms_survey.pk)
    assert (survey.score, survey.comment) == (5, "great help")
    message = Message.objects.get(pk=reply.message.pk)
    assert message.metadata["survey_reply"] == survey.pk
    assert message.metadata["claimed_by"] == "metrics.survey"
    # On the timeline: the customer's message is stored on the ticket.
    assert list(ticket.messages.filter(direction="inbound").values_list("body_text", flat=True))[-1] == "5 great help"

    new_events = list(Event.objects.filter(pk__gt=last_event))
    verbs = {e.verb for e in new_events}
    assert "reopened" not in verbs and "survey_reply_resolved" not in verbs
    assert not any(e.field == "status" for e in new_events)
    kinds = {k for e in new_events for k in event_webhook_types(e)}
    assert WebhookEventType.TICKET_UPDATED not in kinds
    assert WebhookEventType.SURVEY_ANSWERED in kinds and WebhookEventType.MESSAGE_CREATED in kinds

    # The after-commit task that follows changes nothing more.
    message_ingested_task(reply.message.pk)
    ticket.refresh_from_db()
    assert ticket.status == "solved"
    assert Survey.objects.get(pk=survey.pk).answered_at == survey.answered_at
    assert not Event.objects.filter(ticket=ticket, verb="reopened").exists()


def test_words_still_reopen_and_a_broken_claimer_claims_nothing(sms_survey):  # noqa: F811
    def broken(**kwargs):
        raise RuntimeError("claimer bug")

    inbound_claim_register("tests.broken", broken)
    try:
        words = _sms("It is broken again", "SM-CLAIM-2")
    finally:
        from tickets import inbound

        inbound._claim_hooks.pop("tests.broken", None)
    ticket = Ticket.objects.get(pk=sms_survey.ticket_id)
    assert ticket.status == "open"  # a real new request reopens, as before
    assert ticket.last_customer_message_at == words.message.created_at
    assert "claimed_by" not in Message.objects.get(pk=words.message.pk).metadata
    assert Event.objects.filter(ticket=ticket, verb="reopened").exists()


def test_an_automatic_answer_flow_does_not_answer_a_claimed_survey_reply(sms_survey):  # noqa: F811
    """A keyword flow that would match the digit stays quiet: the reply was a survey answer."""
    from channels_inbox.bots.models import Flow, FlowRun
    from channels_inbox.bots.services import bot_message_handle

    Flow.objects.create(name="Digits", keywords="5", reply_text="You pressed five.", channels=["sms"])
    reply = _sms("5", "SM-CLAIM-FLOW")
    assert bot_message_handle(message_id=reply.message.pk) is None
    assert not FlowRun.objects.filter(message_id=reply.message.pk).exists()
    assert not Message.objects.filter(ticket_id=reply.ticket.pk, body_text="You pressed five.").exists()
