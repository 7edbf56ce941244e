"""Writes for surveys: issue one when a ticket is solved, send the invitation on the ticket's
own channel when it is due, record the customer's answer (one-click link or a digit reply)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from tickets.customer_messages import render_for_customer
from tickets.models import Channel, Customer, Event, Message, MessageDirection, Ticket, TicketStatus
from tickets.services.events import Actor, event_record
from tickets.services.tickets import reply_channel_for, system_message_queue, ticket_change_status

from .models import SURVEY_SCALES, InvitationStatus, Survey, SurveyKind

logger = logging.getLogger(__name__)

_SIGNER = signing.Signer(salt="metrics.survey", sep=".", algorithm="sha256")

# Invitations with one link per score.
LINK_CHANNELS = frozenset({Channel.EMAIL})
# Invitations the customer answers by replying with a number (the chat prompt is the same).
DIGIT_CHANNELS = frozenset(
    {Channel.SMS, Channel.WHATSAPP, Channel.TELEGRAM, Channel.MESSENGER, Channel.INSTAGRAM, Channel.CHAT}
)
# Channels a survey may not use without the customer's consent flag.
_CONSENT = {Channel.EMAIL: "consent_email", Channel.SMS: "consent_sms", Channel.WHATSAPP: "consent_whatsapp"}
_DIGIT_REPLY = re.compile(r"^\s*(\d{1,2})(?:\s*[.,:;!)\-–]?\s+(.*)|\s*[.!)]?\s*)$", re.S)


class SurveyScoreError(ValueError):
    """A score outside the survey's scale."""


def survey_customer_limit_days() -> int:
    """At most one survey per customer in this many days (setting METRICS_SURVEY_CUSTOMER_LIMIT_DAYS)."""
    return int(getattr(settings, "METRICS_SURVEY_CUSTOMER_LIMIT_DAYS", 7))


def survey_default_kind() -> str:
    return getattr(settings, "METRICS_SURVEY_KIND", SurveyKind.CSAT)


def survey_delay() -> dt.timedelta:
    """How long after solving the invitation goes out (METRICS_SURVEY_DELAY_MINUTES)."""
    return dt.timedelta(minutes=int(getattr(settings, "METRICS_SURVEY_DELAY_MINUTES", 60)))


def survey_sample_percent() -> int:
    """Share of solved tickets that get a survey, 0-100 (METRICS_SURVEY_SAMPLE_PERCENT)."""
    return max(0, min(100, int(getattr(settings, "METRICS_SURVEY_SAMPLE_PERCENT", 100))))


def survey_reply_days() -> int:
    """A digit reply counts as the answer this many days after the invitation (METRICS_SURVEY_REPLY_DAYS)."""
    return int(getattr(settings, "METRICS_SURVEY_REPLY_DAYS", 7))


def survey_sampled(ticket_id: int, percent: int | None = None) -> bool:
    """Whether a ticket falls in the sample. Decided by a hash of its id, so asking twice
    (a task run twice, a ticket solved again) gives the same answer."""
    percent = survey_sample_percent() if percent is None else percent
    bucket = int(hashlib.sha256(f"survey-sample:{ticket_id}".encode()).hexdigest()[:8], 16) % 100
    return bucket < percent


def survey_token(survey: Survey) -> str:
    """The token in the survey's links: its random key, signed. Works for this survey only."""
    return _SIGNER.sign(survey.key)


def survey_from_token(token: str) -> Survey | None:
    """The survey a token belongs to, or None for a forged, altered or unknown token."""
    try:
        key = _SIGNER.unsign(token)
    except signing.BadSignature:
        return None
    return Survey.objects.select_related("ticket", "customer").filter(key=key).first()


def survey_answer_path(survey: Survey, score: int) -> str:
    """The one-click link for `score` (a path; the sender adds the public base URL)."""
    return reverse("survey:answer", kwargs={"token": survey_token(survey), "score": score})


def survey_invitation_text(survey: Survey, *, base_url: str = "") -> str:
    """The email invitation, in the customer's language, with one link per score."""
    low, high = survey.scale
    links = [(score, base_url + survey_answer_path(survey, score)) for score in range(low, high + 1)]
    return render_for_customer(
        survey.customer, "metrics/customer/survey_invitation.txt", {"survey": survey, "links": links}
    )


def survey_prompt_text(survey: Survey) -> str:
    """The short prompt for SMS, messaging apps and chat: reply with a number."""
    low, high = survey.scale
    return render_for_customer(
        survey.customer, "metrics/customer/survey_prompt.txt", {"survey": survey, "low": low, "high": high}
    )


def survey_create_for_ticket(
    *, ticket: Ticket, kind: str | None = None, now: dt.datetime | None = None
) -> Survey | None:
    """Issue a survey for a solved ticket, or return None when none is due.

    Idempotent: a second call for the same ticket and kind returns the existing survey. None
    when the ticket is not solved, falls outside the sample (METRICS_SURVEY_SAMPLE_PERCENT), or
    its customer already got a survey within `survey_customer_limit_days()` days. Agent, team
    and channel are copied from the ticket now; the invitation is due after the delay."""
    kind = kind or survey_default_kind()
    if kind not in SURVEY_SCALES:
        raise ValueError(f"unknown survey kind {kind!r}")
    now = now or timezone.now()
    with transaction.atomic():
        # Lock the customer so two tickets solved at once cannot both pass the limit.
        Customer.objects.select_for_update().filter(pk=ticket.requester_id).first()
        ticket = Ticket.objects.get(pk=ticket.pk)
        if ticket.status not in (TicketStatus.SOLVED, TicketStatus.CLOSED):
            return None
        existing = Survey.objects.filter(ticket=ticket, kind=kind).first()
        if existing is not None:
            return existing
        if not survey_sampled(ticket.pk):
            return None
        since = now - dt.timedelta(days=survey_customer_limit_days())
        if Survey.objects.filter(customer_id=ticket.requester_id, sent_at__gt=since).exists():
            return None
        survey = Survey.objects.create(
            ticket=ticket,
            customer_id=ticket.requester_id,
            kind=kind,
            key=secrets.token_urlsafe(24),
            channel=ticket.channel,
            agent_id=ticket.assignee_id,
            team_id=ticket.team_id,
            sent_at=now,
            due_at=now + survey_delay(),
        )
        event_record(obj=survey, verb="survey_sent", actor=Actor.system(), ticket=ticket, data={"kind": kind})
    return survey


def _skip(survey: Survey, reason: str, channel: str = "") -> Survey:
    survey.invitation_status = InvitationStatus.SKIPPED
    survey.skip_reason = reason[:200]
    survey.invitation_channel = channel
    survey.save(update_fields=["invitation_status", "skip_reason", "invitation_channel"])
    return survey


def survey_invitation_send(*, survey_id: int, now: dt.datetime | None = None) -> Survey | None:
    """Queue the invitation of one due survey on the ticket's own channel (the channel a reply
    would go out on): links by email, a reply-with-a-number prompt on SMS, messaging apps and
    chat. Idempotent: a survey whose invitation is no longer scheduled is left alone. Skipped
    (with the reason kept) when the ticket was reopened, already answered, the channel cannot
    carry a survey, or the customer has not consented to that channel."""
    now = now or timezone.now()
    with transaction.atomic():
        survey = (
            Survey.objects.select_for_update()
            .select_related("ticket", "customer")
            .filter(pk=survey_id, invitation_status=InvitationStatus.SCHEDULED)
            .first()
        )
        if survey is None:
            return None
        ticket = survey.ticket
        if ticket.status not in (TicketStatus.SOLVED, TicketStatus.CLOSED):
            return _skip(survey, "ticket reopened before the invitation was due")
        if survey.answered_at is not None:
            return _skip(survey, "already answered")
        channel = reply_channel_for(ticket)
        if channel in LINK_CHANNELS:
            body = survey_invitation_text(survey, base_url=settings.SITE_URL)
        elif channel in DIGIT_CHANNELS:
            body = survey_prompt_text(survey)
        else:
            return _skip(survey, f"channel {channel} cannot carry a survey", channel)
        consent = _CONSENT.get(channel)
        if consent and not getattr(survey.customer, consent):
            return _skip(survey, f"no consent for {channel}", channel)
        message = system_message_queue(
            ticket=ticket,
            channel=channel,
            body_text=body,
            kind="survey_invitation",
            metadata={"survey": survey.pk, "survey_kind": survey.kind},
        )
        survey.invitation_status = InvitationStatus.QUEUED
        survey.invitation_channel = channel
        survey.invitation = message
        survey.invited_at = now
        survey.save(update_fields=["invitation_status", "invitation_channel", "invitation", "invited_at"])
    return survey


def survey_invitations_send_due(*, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Send every invitation whose delay has passed, in batches; returns how many were queued."""
    now = now or timezone.now()
    ids = list(
        Survey.objects.filter(invitation_status=InvitationStatus.SCHEDULED, due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", flat=True)[:batch]
    )
    sent = 0
    for survey_id in ids:
        survey = survey_invitation_send(survey_id=survey_id, now=now)
        sent += bool(survey and survey.invitation_status == InvitationStatus.QUEUED)
    return sent


def survey_answer(
    *, survey: Survey, score: int, comment: str = "", now: dt.datetime | None = None, via: str = "link"
) -> Survey:
    """Record (or change) the customer's answer. Answering again updates the one answer; an
    empty comment keeps the comment given before."""
    low, high = SURVEY_SCALES[survey.kind]
    if not low <= score <= high:
        raise SurveyScoreError(f"score {score} is outside {low}-{high}")
    now = now or timezone.now()
    comment = (comment or "").strip()
    with transaction.atomic():
        locked = Survey.objects.select_for_update().get(pk=survey.pk)
        old = locked.score
        locked.score = score
        if comment:
            locked.comment = comment[:5000]
        locked.answered_at = now
        locked.save(update_fields=["score", "comment", "answered_at"])
        event_record(
            obj=locked,
            verb="survey_answered",
            field="score",
            old=old,
            new=score,
            actor=Actor.of_customer(locked.customer),
            ticket=locked.ticket,
            data={"kind": locked.kind, "comment": bool(locked.comment), "via": via},
        )
    return locked


def survey_digit_parse(text: str) -> tuple[int, str] | None:
    """ "4", "4 thanks!", "10." -> (score, comment); anything else -> None."""
    match = _DIGIT_REPLY.match(text or "")
    if not match:
        return None
    return int(match.group(1)), (match.group(2) or "").strip()


def survey_record_digit_reply(*, message_id: int, now: dt.datetime | None = None) -> Survey | None:
    """A customer's inbound message that is only a number (optionally followed by a comment),
    on a ticket whose survey invitation went out on a digit channel within
    METRICS_SURVEY_REPLY_DAYS days, is the survey answer, not a new request.

    Ingest has already stored the message and, the ticket being solved, reopened it. This
    records the score, marks the message (`metadata["survey_reply"]`) and puts the ticket back
    to solved, with an Event `survey_reply_resolved` so KPIs do not count it as a reopen.
    Returns the survey, or None when the message is not a survey reply."""
    now = now or timezone.now()
    message = (
        Message.objects.select_related("ticket", "author_customer")
        .filter(pk=message_id, direction=MessageDirection.INBOUND)
        .first()
    )
    if message is None or message.channel not in DIGIT_CHANNELS or message.metadata.get("survey_reply"):
        return None
    parsed = survey_digit_parse(message.body_text)
    if parsed is None:
        return None
    score, comment = parsed
    survey = (
        Survey.objects.filter(
            ticket=message.ticket,
            invitation_status=InvitationStatus.QUEUED,
            invitation_channel__in=DIGIT_CHANNELS,
            invited_at__lte=message.created_at,
            invited_at__gte=message.created_at - dt.timedelta(days=survey_reply_days()),
        )
        .order_by("-invited_at")
        .first()
    )
    if survey is None:
        return None
    low, high = survey.scale
    if not low <= score <= high:
        return None
    with transaction.atomic():
        survey = survey_answer(survey=survey, score=score, comment=comment, now=now, via=message.channel)
        Message.objects.filter(pk=message.pk).update(metadata={**message.metadata, "survey_reply": survey.pk})
        ticket = Ticket.objects.get(pk=message.ticket_id)
        reopened_by_this = Event.objects.filter(
            ticket=ticket,
            verb="reopened",
            actor_customer_id=message.author_customer_id,
            created_at__gte=message.created_at,
        ).exists()
        if ticket.status == TicketStatus.OPEN and reopened_by_this:
            ticket_change_status(ticket=ticket, status=TicketStatus.SOLVED, actor=Actor.system())
            event_record(
                obj=ticket,
                verb="survey_reply_resolved",
                actor=Actor.system(),
                data={"message": message.pk, "survey": survey.pk},
            )
    return survey


def survey_claim_inbound(*, ticket: Ticket, message: Message) -> bool:
    """Inbound claim hook (see tickets/inbound.py), called by ingest inside its transaction
    before the ticket would be reopened: a digit reply to a survey invitation is recorded as
    the answer there and then, so the ticket stays solved and no SLA clock or routing starts."""
    return survey_record_digit_reply(message_id=message.pk) is not None


def survey_on_ticket_solved(sender=None, *, ticket_id: int, **kwargs) -> None:
    """Receiver for the tickets `ticket_solved` signal (sent after commit): issue the survey,
    and send its invitation at once when no delay is configured."""
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return
    survey = survey_create_for_ticket(ticket=ticket)
    if survey is not None and survey.invitation_status == InvitationStatus.SCHEDULED and survey.due_at is not None:
        if survey.due_at <= timezone.now():
            survey_invitation_send(survey_id=survey.pk)


def survey_on_message_ingested(sender=None, *, message_id: int, **kwargs) -> None:
    """Receiver for `message_ingested`: a digit reply to a survey invitation is the answer."""
    try:
        survey_record_digit_reply(message_id=message_id)
    except Exception:  # a failed rating must not break the other listeners of the signal
        logger.exception("Could not record a survey reply from message %s", message_id)
