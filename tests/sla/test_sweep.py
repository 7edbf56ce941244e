"""The sweep: breaches found within a minute of the deadline, recorded once, warnings before,
escalation; and once on a real Celery worker."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import TeamFactory, TicketFactory, make_agent
from tickets.models import Event
from tickets.models_sla import SlaClock, SlaLedgerEntry
from tickets.sla.explain import sla_explain
from tickets.sla.services import sla_apply
from tickets.sla.sweep import sla_sweep
from tickets.sla.tasks import sla_sweep_task

from .conftest import berlin, policy_create

SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def due_ticket(eu_support):
    """First response due 14:30 Wed 12 Mar 2025 (Berlin), warning 15 minutes before."""
    policy_create("Premium", calendar=eu_support, targets={"first_response": 240}, warn_before_minutes=15)
    ticket = TicketFactory(created_at=berlin(2025, 3, 12, 10, 30))
    sla_apply(ticket, now=berlin(2025, 3, 12, 10, 30))
    assert ticket.first_response_due_at == berlin(2025, 3, 12, 14, 30)
    return ticket


@pytest.mark.django_db
def test_breach_is_found_within_a_minute_of_the_deadline_and_recorded_once(due_ticket):
    due = due_ticket.first_response_due_at
    assert sla_sweep(now=due - SECOND).breached == 0
    result = sla_sweep(now=due + 59 * SECOND)
    assert result.breached == 1
    assert sla_sweep(now=due + 119 * SECOND).breached == 0  # the next run: nothing new
    assert sla_sweep(now=due + dt.timedelta(days=3)).breached == 0

    breach = SlaLedgerEntry.objects.get(ticket=due_ticket, kind="breached")
    assert breach.due_at == due
    assert dt.timedelta(0) <= breach.at - due < dt.timedelta(minutes=1)
    assert Event.objects.filter(ticket=due_ticket, verb="sla_breached").count() == 1
    assert SlaClock.objects.get(ticket=due_ticket).breached_at == breach.at
    assert sla_explain(due_ticket)[-1] == (
        "First response breached: it was due 14:30 Wed 12 Mar (detected 14:30 Wed 12 Mar)"
    )


@pytest.mark.django_db
def test_warning_once_at_the_lead_time_before_the_breach(due_ticket):
    due = due_ticket.first_response_due_at
    assert sla_sweep(now=due - dt.timedelta(minutes=16)).warned == 0
    assert sla_sweep(now=due - dt.timedelta(minutes=15)).warned == 1
    assert sla_sweep(now=due - dt.timedelta(minutes=14)).warned == 0
    assert list(SlaLedgerEntry.objects.filter(ticket=due_ticket).values_list("kind", flat=True)) == [
        "activated",
        "warned",
    ]
    assert Event.objects.filter(ticket=due_ticket, verb="sla_warned").count() == 1


@pytest.mark.django_db
def test_a_clock_found_already_due_is_breached_without_a_late_warning(due_ticket):
    sla_sweep(now=due_ticket.first_response_due_at + SECOND)
    assert list(SlaLedgerEntry.objects.filter(ticket=due_ticket).values_list("kind", flat=True)) == [
        "activated",
        "breached",
    ]


@pytest.mark.django_db
def test_escalation_raises_priority_reassigns_and_names_who_to_notify(eu_support):
    lead = make_agent("lead")
    owner = make_agent("owner")
    escalation = make_agent("escalation", role="manager")
    team = TeamFactory(lead=lead)
    policy_create(
        "Strict",
        calendar=eu_support,
        targets={"first_response": 60, "resolution": 120},
        breach_raise_priority=True,
        breach_reassign_to=escalation,
    )
    ticket = TicketFactory(created_at=berlin(2025, 3, 12, 10, 0), team=team, assignee=owner, priority="normal")
    sla_apply(ticket, now=berlin(2025, 3, 12, 10, 0))
    # both clocks are overdue at once: one escalation, not two
    assert sla_sweep(now=berlin(2025, 3, 12, 12, 0)).breached == 2
    ticket.refresh_from_db()
    assert ticket.priority == "high"
    assert ticket.assignee == escalation
    changed = Event.objects.get(ticket=ticket, verb="changed", field="priority")
    assert (changed.old_value, changed.new_value, changed.actor_kind) == ("normal", "high", "system")
    breached = Event.objects.filter(ticket=ticket, verb="sla_breached").order_by("data__metric")
    assert [e.data["metric"] for e in breached] == ["first_response", "resolution"]
    assert breached[0].data["notify"] == [owner.pk, lead.pk]
    # ... and each of them has a notification per breach waiting on their notifications page
    from tickets.automation.models import Notification

    for person in (owner, lead):
        texts = sorted(Notification.objects.filter(user=person, ticket=ticket).values_list("text", flat=True))
        assert len(texts) == 2 and all(f"SLA breached on ticket #{ticket.number}" in t for t in texts)
        assert any("First response was due 2025-03-12 10:00" in t for t in texts)  # due 11:00 Berlin
    assert not Notification.objects.filter(user=escalation).exists()


@pytest.mark.django_db
def test_sweep_batches(eu_support):
    policy_create("Tiny", targets={"first_response": 1}, business=False)
    old = timezone.now() - dt.timedelta(hours=1)
    tickets = [TicketFactory(created_at=old) for _ in range(7)]
    for ticket in tickets:
        sla_apply(ticket)
    result = sla_sweep(batch_size=3)
    assert result.breached == 7 and result.batches >= 3
    assert SlaLedgerEntry.objects.filter(kind="breached").count() == 7


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_record_each_breach_once(eu_support):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    policy_create("Tiny", targets={"first_response": 1}, business=False)
    old = timezone.now() - dt.timedelta(hours=1)
    for _ in range(40):
        sla_apply(TicketFactory(created_at=old))
    barrier = threading.Barrier(2)
    totals: list[int] = []

    def sweep() -> None:
        try:
            barrier.wait()
            totals.append(sla_sweep(batch_size=5).breached)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(totals) + sla_sweep().breached == 40
    assert SlaLedgerEntry.objects.filter(kind="breached").count() == 40
    assert Event.objects.filter(verb="sla_breached").count() == 40


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_sweep_runs_on_a_real_celery_worker(celery_worker, eu_support):
    policy_create("Tiny", targets={"first_response": 5}, business=False)
    ticket = TicketFactory(created_at=timezone.now() - dt.timedelta(minutes=6))
    sla_apply(ticket)
    result = sla_sweep_task.delay()
    assert result.get(timeout=30)["breached"] == 1
    assert result.get()["breached"] == 1
    breach = SlaLedgerEntry.objects.get(ticket=ticket, kind="breached")
    assert breach.at - ticket.first_response_due_at < dt.timedelta(minutes=2)
