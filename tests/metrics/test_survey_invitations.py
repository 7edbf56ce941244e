"""Survey invitations go out on the ticket's own channel after the configured delay, to a
sample, within the per-customer limit: links by email, a reply-with-a-number prompt by SMS and
chat. A digit reply by SMS is recorded as the answer and does not reopen the ticket."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from metrics.facts import ticket_facts
from metrics.models import Survey
from metrics.services import (
    survey_answer_path,
    survey_create_for_ticket,
    survey_digit_parse,
    survey_invitation_send,
    survey_invitations_send_due,
    survey_sampled,
)
from tests.factories import CustomerFactory, IdentityFactory, TicketFactory, make_agent
from tickets.inbound import InboundMessage, InboundSender
from tickets.models import Message, Ticket
from tickets.services.events import Actor
from tickets.services.ingest import message_ingest
from tickets.services.tickets import ticket_change_status, ticket_reply
from tickets.tasks import message_ingested_task

pytestmark = [pytest.mark.django_db]

PHONE = "+15550001111"


def _solved_email_ticket(**customer):
    requester = CustomerFactory(**customer)
    IdentityFactory(customer=requester)
    ticket = TicketFactory(channel="email", requester=requester)
    ticket_change_status(ticket=ticket, status="solved", actor=Actor.system())
    return ticket


def test_invitation_waits_for_the_delay_then_goes_by_email_with_links(settings):
    settings.METRICS_SURVEY_DELAY_MINUTES = 60
    settings.SITE_URL = "https://help.example.com"
    ticket = _solved_email_ticket()
    start = timezone.now()
    survey = survey_create_for_ticket(ticket=ticket, now=start)
    assert survey.due_at == start + dt.timedelta(minutes=60)
    assert survey_invitations_send_due(now=start + dt.timedelta(minutes=59)) == 0
    assert not Message.objects.filter(ticket=ticket).exists()

    assert survey_invitations_send_due(now=start + dt.timedelta(minutes=61)) == 1
    survey.refresh_from_db()
    invitation = survey.invitation
    assert (survey.invitation_status, survey.invitation_channel, invitation.channel) == ("queued", "email", "email")
    assert (invitation.direction, invitation.author_kind, invitation.metadata["kind"]) == (
        "outbound",
        "system",
        "survey_invitation",
    )
    for score in range(1, 6):
        assert f"{score}: https://help.example.com{survey_answer_path(survey, score)}" in invitation.body_text
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None  # an automatic message is not a response
    # Sending again does nothing: the invitation is no longer scheduled.
    assert survey_invitations_send_due(now=start + dt.timedelta(minutes=90)) == 0
    assert survey_invitation_send(survey_id=survey.pk) is None
    assert Message.objects.filter(ticket=ticket).count() == 1


def test_sampling_is_a_stable_share(settings):
    settings.METRICS_SURVEY_SAMPLE_PERCENT = 0
    assert survey_create_for_ticket(ticket=_solved_email_ticket()) is None
    picked = [survey_sampled(i, 30) for i in range(1, 1001)]
    assert 250 <= sum(picked) <= 350
    assert picked == [survey_sampled(i, 30) for i in range(1, 1001)]  # the same answer every time
    assert all(survey_sampled(i, 100) for i in range(1, 50))


def test_no_invitation_without_consent_or_after_a_reopen(settings):
    settings.METRICS_SURVEY_DELAY_MINUTES = 0
    no_consent = _solved_email_ticket(consent_email=False)
    survey = survey_invitation_send(survey_id=survey_create_for_ticket(ticket=no_consent).pk)
    assert (survey.invitation_status, survey.skip_reason) == ("skipped", "no consent for email")

    reopened = _solved_email_ticket()
    pending = survey_create_for_ticket(ticket=reopened)
    ticket_change_status(ticket=reopened, status="open", actor=Actor.system())
    survey = survey_invitation_send(survey_id=pending.pk)
    assert survey.invitation_status == "skipped" and "reopened" in survey.skip_reason
    assert not Message.objects.filter(ticket__in=[no_consent, reopened]).exists()


def test_chat_gets_a_prompt_at_the_end(settings):
    settings.METRICS_SURVEY_DELAY_MINUTES = 0
    customer = CustomerFactory()
    ticket = TicketFactory(channel="chat", requester=customer)
    Message.objects.create(
        ticket=ticket,
        direction="inbound",
        author_kind="customer",
        channel="chat",
        body_text="hi",
        delivery_status="received",
    )
    ticket_change_status(ticket=ticket, status="solved", actor=Actor.system())
    survey = survey_invitation_send(survey_id=survey_create_for_ticket(ticket=ticket, kind="ces").pk)
    assert (survey.invitation_status, survey.invitation.channel) == ("queued", "chat")
    text = survey.invitation.body_text
    assert "Reply with a number from 1 to 7" in text and "/survey/" not in text


@pytest.mark.parametrize(
    "text, parsed",
    [
        ("4", (4, "")),
        ("5 thanks a lot", (5, "thanks a lot")),
        (" 10. ", (10, "")),
        ("3 - slow", (3, "slow")),
        ("4 stars", (4, "stars")),
        ("it is 4", None),
        ("45%", None),
        ("", None),
        ("123", None),
    ],
)
def test_digit_replies(text, parsed):
    assert survey_digit_parse(text) == parsed


def _sms(body: str, external_id: str):
    return message_ingest(
        inbound=InboundMessage(
            channel="sms", sender=InboundSender(kind="phone", value=PHONE), body_text=body, external_id=external_id
        )
    )


@pytest.fixture
def sms_survey(settings):
    """An SMS ticket answered by an agent, solved, its survey prompt sent by SMS."""
    settings.METRICS_SURVEY_DELAY_MINUTES = 0
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    first = _sms("My router is broken", "SM-1")
    ticket = first.ticket
    agent = make_agent("ana")
    ticket_reply(ticket=ticket, author=agent, body_text="Restarted it for you.")
    ticket_change_status(ticket=ticket, status="solved", actor=Actor.agent(agent))
    survey = survey_invitation_send(survey_id=survey_create_for_ticket(ticket=ticket).pk)
    assert (survey.invitation_status, survey.invitation_channel) == ("queued", "sms")
    assert "Reply with a number from 1 to 5" in survey.invitation.body_text
    return survey


def test_sms_digit_reply_is_the_answer_not_a_new_request(sms_survey):
    ticket = sms_survey.ticket
    reply = _sms("4 very quick, thanks", "SM-2")
    assert reply.ticket.pk == ticket.pk  # threaded onto the solved ticket (claimed: not reopened)
    message_ingested_task(reply.message.pk)  # the after-commit task sends message_ingested
    sms_survey.refresh_from_db()
    assert (sms_survey.score, sms_survey.comment) == (4, "very quick, thanks")
    ticket.refresh_from_db()
    assert ticket.status == "solved"
    reply.message.refresh_from_db()
    assert reply.message.metadata["survey_reply"] == sms_survey.pk
    assert Ticket.objects.count() == 1
    # KPIs: not a reopen, and the digit is not a message waiting for a next response.
    facts = ticket_facts([ticket.pk])[ticket.pk]
    assert (facts.reopens, facts.nrt) == (0, ())
    # The same delivery again changes nothing.
    message_ingested_task(reply.message.pk)
    assert Survey.objects.get(pk=sms_survey.pk).answered_at == sms_survey.answered_at


def test_other_replies_stay_messages(sms_survey):
    ticket = sms_survey.ticket
    words = _sms("It is broken again", "SM-3")
    message_ingested_task(words.message.pk)
    out_of_scale = _sms("9", "SM-4")
    message_ingested_task(out_of_scale.message.pk)
    sms_survey.refresh_from_db()
    ticket.refresh_from_db()
    assert sms_survey.score is None
    assert ticket.status == "open"  # the customer really reopened it


def test_digit_reply_after_the_window_is_a_normal_message(sms_survey, settings):
    settings.METRICS_SURVEY_REPLY_DAYS = 7
    Survey.objects.filter(pk=sms_survey.pk).update(invited_at=timezone.now() - dt.timedelta(days=8))
    late = _sms("5", "SM-5")
    message_ingested_task(late.message.pk)
    sms_survey.refresh_from_db()
    assert sms_survey.score is None


def test_nps_link_takes_zero(client, settings):
    settings.METRICS_SURVEY_KIND = "nps"
    ticket = _solved_email_ticket()
    survey = survey_create_for_ticket(ticket=ticket)
    assert survey.kind == "nps"
    page = client.get(survey_answer_path(survey, 0))
    assert page.status_code == 200 and b"recommend" in page.content
    client.post(survey_answer_path(survey, 0), {"score": "0"})
    survey.refresh_from_db()
    assert survey.score == 0
    assert client.get(survey_answer_path(survey, 11)).status_code == 404


def test_without_a_delay_the_invitation_goes_when_the_ticket_is_solved(settings):
    settings.METRICS_SURVEY_DELAY_MINUTES = 0
    requester = CustomerFactory()
    IdentityFactory(customer=requester)
    ticket = TicketFactory(channel="email", requester=requester)
    from metrics.services import survey_on_ticket_solved

    ticket_change_status(ticket=ticket, status="solved", actor=Actor.system())
    survey_on_ticket_solved(ticket_id=ticket.pk)  # what the ticket_solved signal calls after commit
    survey = Survey.objects.get(ticket=ticket)
    assert survey.invitation_status == "queued"
    assert Message.objects.filter(ticket=ticket, metadata__kind="survey_invitation").count() == 1
