"""Rating a solved request in the portal: CSAT and optional CES through metrics' surveys."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from metrics.models import InvitationStatus, Survey, SurveyKind
from metrics.selectors import KpiFilters, kpi_summary
from metrics.services import survey_invitation_send
from tests.factories import CustomerFactory, IdentityFactory, TicketFactory, make_agent, make_customer_user
from tickets.models import TicketStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(client):
    customer = CustomerFactory(name="Rosa")
    IdentityFactory(customer=customer, value="rosa@example.com")
    make_customer_user(customer)
    client.force_login(customer.user)
    return customer


def solved(customer, **fields):
    return TicketFactory(requester=customer, status=TicketStatus.SOLVED, solved_at=timezone.now(), **fields)


def test_rating_is_recorded_as_surveys_and_counts_in_the_kpis(client, customer):
    ticket = solved(customer)
    page = client.get(f"/support/tickets/{ticket.number}/").content.decode()
    assert "Rate our help" in page and "How satisfied are you" in page
    response = client.post(
        f"/support/tickets/{ticket.number}/rate/", {"csat": "4", "ces": "2", "comment": "Quick and kind"}, follow=True
    )
    assert "Thank you for rating our help." in response.content.decode()
    csat = Survey.objects.get(ticket=ticket, kind=SurveyKind.CSAT)
    ces = Survey.objects.get(ticket=ticket, kind=SurveyKind.CES)
    assert (csat.score, csat.comment, csat.customer) == (4, "Quick and kind", customer)
    assert ces.score == 2 and ces.answered_at is not None
    page = response.content.decode()
    assert "You rated our help 4 out of 5." in page and "Effort: 2 out of 7." in page and "Quick and kind" in page

    today = timezone.localdate()
    summary = kpi_summary(user=make_agent("boss", role="manager"), filters=KpiFilters(date_from=today, date_to=today))
    assert summary.csat_answered == 1 and summary.csat == 100.0


def test_changing_the_rating_keeps_one_answer(client, customer):
    ticket = solved(customer)
    client.post(f"/support/tickets/{ticket.number}/rate/", {"csat": "2"})
    client.post(f"/support/tickets/{ticket.number}/rate/", {"csat": "5"})
    assert list(Survey.objects.filter(ticket=ticket).values_list("kind", "score")) == [(SurveyKind.CSAT, 5)]
    assert ticket.events.filter(verb="survey_answered").count() == 2


def test_rating_counts_even_outside_the_survey_sample_and_no_invitation_follows(client, customer, settings):
    settings.METRICS_SURVEY_SAMPLE_PERCENT = 0
    ticket = solved(customer)
    assert client.post(f"/support/tickets/{ticket.number}/rate/", {"csat": "5"}).status_code == 302
    survey = Survey.objects.get(ticket=ticket)
    assert survey.score == 5 and survey.invitation_status == InvitationStatus.SKIPPED


def test_a_scheduled_invitation_is_not_sent_once_rated(client, customer):
    ticket = solved(customer)
    from metrics.services import survey_create_for_ticket

    scheduled = survey_create_for_ticket(ticket=ticket, kind=SurveyKind.CSAT)
    assert scheduled.invitation_status == InvitationStatus.SCHEDULED
    client.post(f"/support/tickets/{ticket.number}/rate/", {"csat": "3"})
    assert Survey.objects.get(pk=scheduled.pk).score == 3
    survey_invitation_send(survey_id=scheduled.pk)
    assert Survey.objects.get(pk=scheduled.pk).skip_reason == "already answered"


def test_unsolved_or_late_or_invalid_ratings_are_refused(client, customer):
    open_ticket = TicketFactory(requester=customer, status=TicketStatus.OPEN)
    assert "Rate our help" not in client.get(f"/support/tickets/{open_ticket.number}/").content.decode()
    assert client.post(f"/support/tickets/{open_ticket.number}/rate/", {"csat": "5"}).status_code == 403
    old = solved(customer)
    old.solved_at = timezone.now() - dt.timedelta(days=15)
    old.save()
    assert client.post(f"/support/tickets/{old.number}/rate/", {"csat": "5"}).status_code == 403
    fresh = solved(customer)
    bad = client.post(f"/support/tickets/{fresh.number}/rate/", {"csat": "9", "ces": "8"})
    assert bad.status_code == 400 and "Select a valid choice" in bad.content.decode()
    assert not Survey.objects.filter(score__isnull=False).exists()


def test_another_customers_ticket_cannot_be_rated(client, customer):
    theirs = solved(CustomerFactory())
    assert client.post(f"/support/tickets/{theirs.number}/rate/", {"csat": "1"}).status_code == 404
    assert not Survey.objects.exists()
