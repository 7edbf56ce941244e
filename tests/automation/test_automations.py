"""Time-based automations: the sweep applies each automation once per ticket state, in
batches, also on a real Celery worker; the shipped defaults do what their names say."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from tickets.automation.models import Automation, AutomationApplication
from tickets.automation.services import automation_sweep
from tickets.automation.tasks import automation_sweep_task
from tickets.models import Event, Message, Ticket
from tickets.services.events import Actor
from tickets.services.tickets import ticket_change_status

PENDING_3_DAYS = {
    "all": [
        {"field": "status", "operator": "is", "value": "pending"},
        {"field": "hours_since_status_changed", "operator": "at_least", "value": 72},
    ]
}
REMIND = [{"action": "send_message", "text": "Still there, {{ customer.first_name }}? (#{{ ticket.number }})"}]


def set_status(ticket: Ticket, status: str, *, hours_ago: float, actor: Actor | None = None) -> Ticket:
    """Change the status through the service, then move that change back in time."""
    ticket_change_status(ticket=ticket, status=status, actor=actor or Actor.system())
    when = timezone.now() - dt.timedelta(hours=hours_ago)
    last = Event.objects.filter(ticket=ticket, field="status").order_by("-id").first()
    Event.objects.filter(pk=last.pk).update(created_at=when)
    fields = {"updated_at": when}
    if status == "solved":
        fields["solved_at"] = when
    Ticket.objects.filter(pk=ticket.pk).update(**fields)
    ticket.refresh_from_db()
    return ticket


@pytest.mark.django_db
def test_pending_for_three_days_gets_one_reminder_even_when_the_sweep_runs_twice(make_automation, make_ticket):
    make_automation("Remind", PENDING_3_DAYS, REMIND)
    old = set_status(make_ticket("Old"), "pending", hours_ago=73)
    recent = set_status(make_ticket("Recent"), "pending", hours_ago=10)
    solved_old = set_status(make_ticket("Solved"), "solved", hours_ago=100)

    first = automation_sweep()
    second = automation_sweep()

    reminders = Message.objects.filter(author_kind="system", metadata__kind="automation")
    assert list(reminders.values_list("ticket_id", flat=True)) == [old.pk]
    assert reminders.get().body_text == f"Still there, Ana? (#{old.number})"
    assert (first.applied, second.applied) == (1, 0)
    assert second.checked == 0  # already-applied tickets are excluded by the query itself
    assert not AutomationApplication.objects.filter(ticket__in=[recent, solved_old]).exists()


@pytest.mark.django_db
def test_a_new_state_makes_the_automation_apply_again(make_automation, make_ticket):
    make_automation("Remind", PENDING_3_DAYS, REMIND)
    ticket = set_status(make_ticket(), "pending", hours_ago=80)
    automation_sweep()
    set_status(ticket, "open", hours_ago=79)
    set_status(ticket, "pending", hours_ago=75)
    automation_sweep()
    automation_sweep()
    assert Message.objects.filter(ticket=ticket, metadata__kind="automation").count() == 2
    assert AutomationApplication.objects.filter(ticket=ticket).count() == 2


@pytest.mark.django_db
def test_hours_operators_on_each_clock(make_automation, make_ticket):
    ticket = make_ticket()
    now = timezone.now()
    Ticket.objects.filter(pk=ticket.pk).update(
        created_at=now - dt.timedelta(hours=50),
        updated_at=now - dt.timedelta(hours=5),
        last_customer_message_at=now - dt.timedelta(hours=30),
        last_agent_message_at=now - dt.timedelta(hours=1),
    )
    cases = [
        ("hours_since_created", "at_least", 48, True),
        ("hours_since_created", "less_than", 48, False),
        ("hours_since_updated", "at_least", 6, False),
        ("hours_since_updated", "less_than", 6, True),
        ("hours_since_customer_message", "at_least", 24, True),
        ("hours_since_agent_message", "at_least", 2, False),
        ("hours_since_solved", "at_least", 0, False),  # never solved: no clock, no match
    ]
    for n, (field, op, value, expected) in enumerate(cases):
        automation = make_automation(
            f"case {n}",
            {"all": [{"field": field, "operator": op, "value": value}]},
            [{"action": "add_tags", "value": f"case-{n}"}],
        )
        automation_sweep()
        automation.is_active = False
        automation.save()
        got = ticket.tags.filter(name=f"case-{n}").exists()
        assert got == expected, (field, op, value)


@pytest.mark.django_db
def test_the_sweep_reads_in_batches(make_automation, make_ticket):
    make_automation(
        "Tag old",
        {"all": [{"field": "hours_since_created", "operator": "at_least", "value": 1}]},
        [{"action": "add_tags", "value": "old"}],
    )
    tickets = [make_ticket(f"T{n}") for n in range(5)]
    Ticket.objects.update(created_at=timezone.now() - dt.timedelta(hours=2))
    result = automation_sweep(batch_size=2)
    assert result.applied == 5
    assert all(t.tags.filter(name="old").exists() for t in tickets)


@pytest.mark.django_db
def test_defaults_command_adds_two_inactive_automations_once(make_ticket):
    call_command("automation_defaults")
    call_command("automation_defaults")
    names = sorted(Automation.objects.values_list("name", "is_active"))
    assert names == [("Close solved tickets after 4 days", False), ("Remind customer after 3 days pending", False)]
    # Switched on, the "close" default closes a ticket solved 97 hours ago and leaves a newer one.
    Automation.objects.update(is_active=True)
    old = set_status(make_ticket("Old"), "solved", hours_ago=97)
    new = set_status(make_ticket("New"), "solved", hours_ago=20)
    automation_sweep()
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, new.status) == ("closed", "solved")


@pytest.mark.django_db(transaction=True)
def test_the_sweep_task_runs_on_a_real_worker_and_twice_is_once(celery_worker, make_ticket):
    call_command("automation_defaults", activate=True)
    pending = set_status(make_ticket("Waiting"), "pending", hours_ago=80)
    solved = set_status(make_ticket("Done"), "solved", hours_ago=100)

    first = automation_sweep_task.delay().get(timeout=60)
    second = automation_sweep_task.delay().get(timeout=60)

    assert first["applied"] == 2 and second["applied"] == 0
    solved.refresh_from_db()
    assert solved.status == "closed"
    reminder = Message.objects.get(ticket=pending, metadata__kind="automation")
    assert f"#{pending.number}" in reminder.body_text
    closed_by = Event.objects.filter(ticket=solved, field="status", new_value="closed").get()
    assert closed_by.data["automation"]["name"] == "Close solved tickets after 4 days"
