"""Integrators hear about SLA warnings and breaches, customer merges and survey answers, signed
like every other event."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tests.factories import CustomerFactory, IdentityFactory, TicketFactory, make_agent
from tests.sla.conftest import calendar_create, policy_create
from tickets.models import TicketStatus
from tickets.services.customer_merge import customer_merge
from tickets.services.events import Actor
from tickets.sla.services import sla_apply
from tickets.sla.sweep import sla_sweep
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def test_an_sla_warning_and_breach_reach_the_subscriber(receiver, subscribe, django_capture_on_commit_callbacks):
    subscribe(["sla.warned", "sla.breached"])
    hours = calendar_create("Office", "Europe/Berlin")
    policy_create("Strict", calendar=hours, targets={"first_response": 60}, warn_before_minutes=15)
    ticket = TicketFactory(created_at=dt.datetime(2025, 3, 12, 10, 0, tzinfo=BERLIN))
    sla_apply(ticket, now=ticket.created_at)
    with django_capture_on_commit_callbacks(execute=True):
        sla_sweep(now=dt.datetime(2025, 3, 12, 10, 50, tzinfo=BERLIN))
    with django_capture_on_commit_callbacks(execute=True):
        sla_sweep(now=dt.datetime(2025, 3, 12, 11, 1, tzinfo=BERLIN))
    assert [r.json["event"] for r in receiver.requests] == ["sla.warned", "sla.breached"]
    assert all(r.verified for r in receiver.requests)
    breach = receiver.requests[1].json
    assert breach["data"]["ticket"]["number"] == ticket.number
    assert breach["change"]["metric"] == "first_response"
    assert breach["change"]["policy"] == "Strict"
    assert breach["change"]["due_at"].startswith("2025-03-12T10:00")  # 11:00 in Berlin


def test_a_customer_merge_is_one_event_naming_both(receiver, subscribe, django_capture_on_commit_callbacks):
    subscribe(["customer.merged"])
    kept, merged = CustomerFactory(name="Ana Silva"), CustomerFactory(name="Ana S.")
    IdentityFactory(customer=merged, value="ana.s@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        customer_merge(source=merged, target=kept, actor=Actor.agent(make_agent("merger", role="manager")))
    assert [r.json["event"] for r in receiver.requests] == ["customer.merged"]
    body = receiver.requests[0].json
    assert body["data"]["customer"]["id"] == kept.pk
    assert body["change"]["merged_from"] == merged.pk
    assert {"kind": "email", "value": "ana.s@example.com"} in body["data"]["customer"]["identities"]


def test_a_survey_answer_reaches_the_subscriber(receiver, subscribe, django_capture_on_commit_callbacks, settings):
    from metrics.services import survey_answer, survey_create_for_ticket

    settings.METRICS_SURVEY_SAMPLE_PERCENT = 100
    subscribe(["survey.answered"])
    ticket = TicketFactory(status=TicketStatus.SOLVED)
    survey = survey_create_for_ticket(ticket=ticket, kind="csat")
    assert survey is not None
    with django_capture_on_commit_callbacks(execute=True):
        survey_answer(survey=survey, score=5, comment="Quick and kind")
    assert [r.json["event"] for r in receiver.requests] == ["survey.answered"]
    body = receiver.requests[0].json
    assert (body["data"]["survey"]["score"], body["data"]["survey"]["kind"]) == (5, "csat")
    assert body["data"]["ticket"]["number"] == ticket.number
    assert WebhookDelivery.objects.get().event_type == "survey.answered"
