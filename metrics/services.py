"""Writes for surveys: issue one when a ticket is solved, record the customer's answer."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from tickets.customer_messages import render_for_customer
from tickets.models import Customer, Ticket, TicketStatus
from tickets.services.events import Actor, event_record

from .models import SURVEY_SCALES, Survey, SurveyKind

_SIGNER = signing.Signer(salt="metrics.survey", sep=".", algorithm="sha256")


class SurveyScoreError(ValueError):
    """A score outside the survey's scale."""


def survey_customer_limit_days() -> int:
    """At most one survey per customer in this many days (setting METRICS_SURVEY_CUSTOMER_LIMIT_DAYS)."""
    return int(getattr(settings, "METRICS_SURVEY_CUSTOMER_LIMIT_DAYS", 7))


def survey_default_kind() -> str:
    return getattr(settings, "METRICS_SURVEY_KIND", SurveyKind.CSAT)


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
    """The invitation, in the customer's language, with one link per score."""
    low, high = survey.scale
    links = [(score, base_url + survey_answer_path(survey, score)) for score in range(low, high + 1)]
    return render_for_customer(
        survey.customer, "metrics/customer/survey_invitation.txt", {"survey": survey, "links": links}
    )


def survey_create_for_ticket(
    *, ticket: Ticket, kind: str | None = None, now: dt.datetime | None = None
) -> Survey | None:
    """Issue a survey for a solved ticket, or return None when none is due.

    Idempotent: a second call for the same ticket and kind returns the existing survey. None
    when the ticket is not solved or its customer already got a survey within
    `survey_customer_limit_days()` days (the per-customer limit, so nobody is asked after every
    message). Agent, team and channel are copied from the ticket now."""
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
        )
        event_record(obj=survey, verb="survey_sent", actor=Actor.system(), ticket=ticket, data={"kind": kind})
    return survey


def survey_answer(*, survey: Survey, score: int, comment: str = "", now: dt.datetime | None = None) -> Survey:
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
            data={"kind": locked.kind, "comment": bool(locked.comment)},
        )
    return locked


def survey_on_ticket_solved(sender=None, *, ticket_id: int, **kwargs) -> None:
    """Receiver for the tickets `ticket_solved` signal (sent after commit): issue the survey."""
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is not None:
        survey_create_for_ticket(ticket=ticket)
