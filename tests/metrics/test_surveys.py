"""Surveys: issued once per solved ticket within the per-customer limit, answered by one-click links."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from metrics.models import Survey
from metrics.services import (
    survey_answer_path,
    survey_create_for_ticket,
    survey_invitation_text,
    survey_on_ticket_solved,
    survey_token,
)
from tests.factories import CustomerFactory, TeamFactory, TicketFactory, make_agent
from tickets.models import Event
from tickets.services.events import Actor
from tickets.services.tickets import ticket_change_status

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def solved_ticket(db):
    team = TeamFactory(name="Billing")
    agent = make_agent("sam", teams=[team])
    ticket = TicketFactory(channel="whatsapp", team=team, assignee=agent)
    ticket_change_status(ticket=ticket, status="solved", actor=Actor.agent(agent))
    return ticket


def test_survey_snapshots_channel_agent_and_team(solved_ticket):
    survey = survey_create_for_ticket(ticket=solved_ticket)
    assert survey is not None
    assert (survey.kind, survey.channel, survey.agent_id, survey.team_id, survey.customer_id) == (
        "csat",
        "whatsapp",
        solved_ticket.assignee_id,
        solved_ticket.team_id,
        solved_ticket.requester_id,
    )
    assert Event.objects.filter(ticket=solved_ticket, verb="survey_sent").count() == 1
    # Reassigning later does not move the survey.
    solved_ticket.assignee = None
    solved_ticket.save()
    survey.refresh_from_db()
    assert survey.agent_id is not None


def test_survey_is_issued_once_per_ticket(solved_ticket):
    first = survey_create_for_ticket(ticket=solved_ticket)
    assert survey_create_for_ticket(ticket=solved_ticket) == first
    survey_on_ticket_solved(ticket_id=solved_ticket.pk)
    assert Survey.objects.count() == 1


def test_no_survey_for_an_unsolved_ticket(db):
    assert survey_create_for_ticket(ticket=TicketFactory(status="open")) is None
    assert not Survey.objects.exists()


def test_per_customer_limit(db, settings):
    settings.METRICS_SURVEY_CUSTOMER_LIMIT_DAYS = 3
    customer = CustomerFactory()
    first, second, third = (TicketFactory(requester=customer, status="solved") for _ in range(3))
    start = timezone.now()
    assert survey_create_for_ticket(ticket=first, now=start) is not None
    assert survey_create_for_ticket(ticket=second, now=start + dt.timedelta(days=2)) is None
    assert survey_create_for_ticket(ticket=third, now=start + dt.timedelta(days=3, minutes=1)) is not None
    # Another customer is not limited by the first one's survey.
    assert survey_create_for_ticket(ticket=TicketFactory(status="solved"), now=start) is not None
    assert Survey.objects.count() == 3


def test_invitation_has_one_link_per_score_in_the_customers_language(solved_ticket):
    solved_ticket.requester.language = "pt-br"
    solved_ticket.requester.save()
    survey = survey_create_for_ticket(ticket=solved_ticket, kind="ces")
    text = survey_invitation_text(survey, base_url="https://help.example.com")
    for score in range(1, 8):
        assert f"{score}: https://help.example.com{survey_answer_path(survey, score)}" in text
    assert "8: " not in text


def test_one_click_link_confirms_then_records(client, solved_ticket):
    survey = survey_create_for_ticket(ticket=solved_ticket)
    url = survey_answer_path(survey, 5)
    assert url.startswith("/survey/")
    page = client.get(url)
    assert page.status_code == 200
    assert b'value="5" checked' in page.content
    survey.refresh_from_db()
    assert survey.score is None  # a link scanner following the link does not vote

    done = client.post(url, {"score": "5", "comment": "Quick and kind."})
    assert done.status_code == 200
    assert b"Thank you" in done.content
    survey.refresh_from_db()
    assert (survey.score, survey.comment) == (5, "Quick and kind.")
    assert survey.answered_at is not None


def test_answering_twice_updates_the_one_answer(client, solved_ticket):
    survey = survey_create_for_ticket(ticket=solved_ticket)
    client.post(survey_answer_path(survey, 2), {"score": "2", "comment": "Slow."})
    again = client.get(survey_answer_path(survey, 4))
    assert b"already answered" in again.content
    client.post(survey_answer_path(survey, 4), {"score": "4", "comment": ""})
    assert Survey.objects.count() == 1
    survey.refresh_from_db()
    assert (survey.score, survey.comment) == (4, "Slow.")
    assert Event.objects.filter(verb="survey_answered", object_id=survey.pk).count() == 2


def test_wrong_token_or_score_is_404(client, solved_ticket):
    survey = survey_create_for_ticket(ticket=solved_ticket)
    other = survey_create_for_ticket(ticket=TicketFactory(status="solved"))
    token = survey_token(survey)
    key, signature = token.rsplit(".", 1)
    forged = f"{other.key}.{signature}"  # another survey's key with this survey's signature
    for bad in (token[:-2] + "xx", forged, "nonsense", survey.key):
        assert client.get(reverse("survey:answer", kwargs={"token": bad, "score": 5})).status_code == 404
        assert client.post(reverse("survey:answer", kwargs={"token": bad, "score": 5})).status_code == 404
    assert client.get(survey_answer_path(survey, 6)).status_code == 404  # CSAT is 1-5
    assert client.get(survey_answer_path(survey, 0)).status_code == 404
    assert not Survey.objects.filter(score__isnull=False).exists()
    assert key == survey.key


def test_solving_a_ticket_through_the_service_issues_one_survey(django_capture_on_commit_callbacks):
    from metrics.models import Survey
    from tests.factories import TicketFactory
    from tickets.services.events import Actor
    from tickets.services.tickets import ticket_change_status

    ticket = TicketFactory()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_change_status(ticket=ticket, status="solved", actor=Actor.system())
    survey = Survey.objects.get(ticket=ticket)
    assert survey.kind == "csat" and survey.answered_at is None
