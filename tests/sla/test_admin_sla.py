"""Admin pages for business hours and SLA policies: they open, edits are audited, and the
clocks and ledger are read-only."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

import tickets.admin_sla  # noqa: F401  (registers the SLA admin until tickets.admin imports it)
from tests.factories import make_agent
from tickets.models import Event
from tickets.models_sla import (
    BusinessCalendar,
    BusinessHoliday,
    BusinessInterval,
    SlaClock,
    SlaLedgerEntry,
    SlaPolicy,
    SlaTarget,
)

from .conftest import sla_one_of_each

pytestmark = pytest.mark.django_db

SLA_MODELS = (BusinessCalendar, BusinessInterval, BusinessHoliday, SlaPolicy, SlaTarget, SlaClock, SlaLedgerEntry)


@pytest.fixture
def staff_client(client):
    make_agent("sla-admin", role="admin", password="admin-pw-1")
    assert client.login(username="sla-admin", password="admin-pw-1")
    return client


def _url(model, action: str, *args) -> str:
    return reverse(f"admin:tickets_{model._meta.model_name}_{action}", args=args)


def test_every_sla_admin_page_opens(staff_client):
    rows = sla_one_of_each()
    for model in SLA_MODELS:
        model_admin = admin.site._registry[model]
        assert staff_client.get(_url(model, "changelist")).status_code == 200, model
        assert staff_client.get(_url(model, "change", rows[model].pk)).status_code == 200, model
        if model in (SlaClock, SlaLedgerEntry):
            assert not model_admin.has_change_permission(None)
            assert not model_admin.has_add_permission(None)
        else:
            assert staff_client.get(_url(model, "add")).status_code == 200, model


def _inline_management(prefix: str, total: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def test_calendar_with_a_night_interval_is_created_and_audited(staff_client):
    data = {
        "name": "Night desk",
        "time_zone": "Europe/London",
        "holiday_country": "gb",
        "holiday_subdivision": "eng",
        **_inline_management("intervals", 1),
        "intervals-0-weekday": "4",
        "intervals-0-start_time": "22:00",
        "intervals-0-end_time": "06:00",
        **_inline_management("holidays"),
    }
    response = staff_client.post(_url(BusinessCalendar, "add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    calendar = BusinessCalendar.objects.get(name="Night desk")
    assert (calendar.holiday_country, calendar.holiday_subdivision) == ("GB", "ENG")
    assert calendar.intervals.get().crosses_midnight
    verbs = set(
        Event.objects.filter(object_type="businesscalendar", object_id=calendar.pk).values_list("verb", flat=True)
    )
    assert verbs == {"created", "businessinterval_added"}


def test_calendar_with_an_unknown_zone_is_refused(staff_client):
    data = {
        "name": "Nowhere",
        "time_zone": "Mars/Olympus",
        **_inline_management("intervals"),
        **_inline_management("holidays"),
    }
    response = staff_client.post(_url(BusinessCalendar, "add"), data)
    assert response.status_code == 200
    assert "time_zone" in response.context["adminform"].form.errors
    assert not BusinessCalendar.objects.exists()


def test_policy_conditions_are_ticked_boxes_stored_as_lists(staff_client):
    data = {
        "name": "Urgent chat",
        "position": "5",
        "is_active": "on",
        "priorities": ["urgent", "high"],
        "channels": ["chat"],
        "warn_before_minutes": "10",
        **_inline_management("targets", 1),
        "targets-0-metric": "first_response",
        "targets-0-priority": "",
        "targets-0-minutes": "15",
        "targets-0-business_hours": "",
    }
    response = staff_client.post(_url(SlaPolicy, "add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    policy = SlaPolicy.objects.get(name="Urgent chat")
    assert (policy.priorities, policy.tiers, policy.channels) == (["urgent", "high"], [], ["chat"])
    assert policy.targets.get().business_hours is False
