"""Editing a promise moves the deadlines of the tickets it covers: a policy, target or
business-hours edit is re-applied to every unsolved ticket after it commits, explained on the
ticket, in batches, on a real worker too."""

from __future__ import annotations

import datetime as dt
import io
import time
from unittest import mock

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.factories import TicketFactory, make_agent
from tickets.models import Ticket
from tickets.models_sla import BusinessHoliday, BusinessInterval, SlaLedgerEntry, SlaTarget
from tickets.sla.explain import sla_explain
from tickets.sla.services import sla_apply

from .conftest import berlin, calendar_create, policy_create

pytestmark = pytest.mark.django_db

WEDNESDAY_1030 = berlin(2025, 3, 12, 10, 30)


def live_ticket(**kwargs) -> Ticket:
    ticket = TicketFactory(created_at=WEDNESDAY_1030, **kwargs)
    sla_apply(ticket, now=WEDNESDAY_1030)
    return ticket


def test_editing_a_target_moves_the_deadline_of_open_tickets_and_says_why(
    eu_support, django_capture_on_commit_callbacks
):
    policy = policy_create("Standard", calendar=eu_support, targets={"first_response": 240})
    ticket = live_ticket()
    solved = live_ticket(status="solved")
    assert ticket.first_response_due_at == berlin(2025, 3, 12, 14, 30)

    with mock.patch("django.utils.timezone.now", return_value=berlin(2025, 3, 12, 11, 0)):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            target = SlaTarget.objects.get(policy=policy)
            target.minutes = 120
            target.save()
    assert len(callbacks) == 1
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == berlin(2025, 3, 12, 12, 30)
    entry = SlaLedgerEntry.objects.get(ticket=ticket, kind="recalculated")
    assert entry.details["why"] == "policy_changed"
    assert any("because the SLA policy was edited" in s and "12:30" in s for s in sla_explain(ticket))
    solved.refresh_from_db()
    assert not SlaLedgerEntry.objects.filter(ticket=solved, kind="recalculated").exists()


def test_a_new_holiday_in_the_calendar_moves_the_deadline_past_it(eu_support, django_capture_on_commit_callbacks):
    policy_create("Standard", calendar=eu_support, targets={"resolution": 8 * 60})
    ticket = live_ticket()
    assert ticket.resolution_due_at == berlin(2025, 3, 13, 10, 30)
    with mock.patch("django.utils.timezone.now", return_value=berlin(2025, 3, 12, 11, 0)):
        with django_capture_on_commit_callbacks(execute=True):
            BusinessHoliday.objects.create(calendar=eu_support, date=dt.date(2025, 3, 13), name="Company day")
    ticket.refresh_from_db()
    assert ticket.resolution_due_at == berlin(2025, 3, 14, 10, 30)
    assert any("because the business hours were edited" in s for s in sla_explain(ticket))


def test_longer_opening_hours_bring_the_deadline_forward(django_capture_on_commit_callbacks):
    hours = calendar_create("Short days", "Europe/Berlin", start=dt.time(9), end=dt.time(13))
    policy_create("Standard", calendar=hours, targets={"resolution": 6 * 60})
    ticket = live_ticket()  # 2.5 h left on Wednesday, 3.5 h on Thursday
    assert ticket.resolution_due_at == berlin(2025, 3, 13, 12, 30)
    with mock.patch("django.utils.timezone.now", return_value=berlin(2025, 3, 12, 11, 0)):
        with django_capture_on_commit_callbacks(execute=True):
            BusinessInterval.objects.filter(calendar=hours).update(end_time=dt.time(17))
            hours.save()  # a bulk update sends no signal; saving the calendar does
    ticket.refresh_from_db()
    assert ticket.resolution_due_at == berlin(2025, 3, 12, 16, 30)  # 30 min used, 5.5 h from 11:00


def test_of_several_edits_in_a_row_only_the_latest_re_apply_does_the_work(eu_support, settings):
    policy = policy_create("Standard", calendar=eu_support, targets={"first_response": 60})
    tickets = [live_ticket() for _ in range(3)]
    from tickets.sla.reapply import _generation_next, sla_reapply_batch

    older, newer = _generation_next(), _generation_next()
    assert sla_reapply_batch(generation=older) == (0, 0)  # superseded: touches nothing
    SlaTarget.objects.filter(policy=policy).update(minutes=30)
    with mock.patch("django.utils.timezone.now", return_value=WEDNESDAY_1030):
        assert sla_reapply_batch(generation=newer)[0] == 3
    assert {t.first_response_due_at for t in Ticket.objects.filter(pk__in=[t.pk for t in tickets])} == {
        berlin(2025, 3, 12, 11, 0)
    }


def test_the_re_apply_runs_in_batches_until_every_unsolved_ticket_is_done(
    eu_support, settings, django_capture_on_commit_callbacks
):
    settings.SLA_REAPPLY_BATCH = 2
    tickets = [live_ticket() for _ in range(5)]
    assert all(t.first_response_due_at is None for t in tickets)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        policy_create("Late policy", calendar=eu_support, targets={"first_response": 60})
    assert len(callbacks) == 2  # the policy and its target; each task queues its next batch itself
    due = set(Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values_list("first_response_due_at", flat=True))
    assert None not in due and len(due) == 1


def test_deactivating_the_policy_stops_the_clocks(eu_support, django_capture_on_commit_callbacks):
    policy = policy_create("Standard", calendar=eu_support, targets={"first_response": 240})
    ticket = live_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        policy.is_active = False
        policy.save()
    ticket.refresh_from_db()
    assert ticket.first_response_due_at is None
    assert SlaLedgerEntry.objects.get(ticket=ticket, kind="stopped").details["why"] == "no_policy"


def test_an_edit_in_the_admin_re_applies_the_policy(client, eu_support, django_capture_on_commit_callbacks):
    policy = policy_create("Standard", calendar=eu_support, targets={"first_response": 240})
    ticket = TicketFactory()
    sla_apply(ticket)
    before = Ticket.objects.get(pk=ticket.pk).first_response_due_at
    admin = make_agent("sla-admin", role="admin")
    client.force_login(admin)
    target = policy.targets.get()
    url = reverse("admin:tickets_slatarget_change", args=[target.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {"policy": policy.pk, "metric": "first_response", "priority": "", "minutes": 30, "business_hours": "on"},
        )
    assert response.status_code == 302, response.content[:2000]
    after = Ticket.objects.get(pk=ticket.pk).first_response_due_at
    assert after is not None and after < before


def test_the_command_re_applies_with_progress(eu_support):
    policy = policy_create("Standard", calendar=eu_support, targets={"first_response": 240})
    ticket = live_ticket()
    SlaTarget.objects.filter(policy=policy).update(minutes=60)  # no signal: the command catches up
    out, err = io.StringIO(), io.StringIO()
    with mock.patch("django.utils.timezone.now", return_value=WEDNESDAY_1030):
        call_command("sla_reapply", stdout=out, stderr=err)
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == berlin(2025, 3, 12, 11, 30)
    assert "Re-applied the SLA to 1 unsolved ticket(s)." in out.getvalue()
    assert "ticket" in err.getvalue()


@pytest.mark.django_db(transaction=True)
def test_a_policy_edit_is_re_applied_by_the_worker(celery_worker, eu_support):
    policy = policy_create("Standard", calendar=eu_support, targets={"first_response": 240})
    ticket = TicketFactory()
    sla_apply(ticket)
    before = Ticket.objects.get(pk=ticket.pk).first_response_due_at
    SlaTarget.objects.filter(policy=policy).update(minutes=60)
    policy.save()  # commits at once (no transaction): the re-apply goes to the worker
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and Ticket.objects.get(pk=ticket.pk).first_response_due_at == before:
        time.sleep(0.2)
    assert Ticket.objects.get(pk=ticket.pk).first_response_due_at < before
    assert SlaLedgerEntry.objects.filter(ticket=ticket, kind="recalculated", details__why="policy_changed").exists()
