"""Triggers fire on what happens to a ticket, in order, once, and never loop."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.factories import make_agent
from tickets.automation.models import FiringOutcome, Notification, TriggerEventMark, TriggerFiring
from tickets.automation.services import triggers_run
from tickets.models import Event, Message, TicketStatus
from tickets.services.events import Actor
from tickets.services.tickets import ticket_change_status, ticket_reply, ticket_tags_add, ticket_update

pytestmark = pytest.mark.django_db

STATUS_IS_NEW = {"all": [{"field": "status", "operator": "is", "value": "new"}]}


def tags(ticket) -> set[str]:
    return set(ticket.tags.values_list("name", flat=True))


def test_a_trigger_on_ticket_created_sets_fields_and_records_who_did_it(make_trigger, make_ticket, team):
    make_trigger(
        "Refunds to billing",
        {
            "all": [
                {"field": "event", "operator": "is", "value": "ticket_created"},
                {"field": "subject", "operator": "contains", "value": "refund"},
            ]
        },
        [
            {"action": "set_team", "value": team.pk},
            {"action": "set_priority", "value": "high"},
            {"action": "add_tags", "value": ["refund"]},
        ],
    )
    ticket = make_ticket("I want a REFUND please")
    other = make_ticket("Password reset")

    assert (ticket.team_id, ticket.priority, tags(ticket)) == (team.pk, "high", {"refund"})
    assert (other.team_id, other.priority, tags(other)) == (None, "normal", set())
    change = Event.objects.get(ticket=ticket, field="priority")
    assert change.actor_kind == "system"
    assert change.data["automation"]["kind"] == "trigger"
    assert change.data["automation"]["name"] == "Refunds to billing"


def test_triggers_run_in_position_order_and_later_ones_see_earlier_changes(make_trigger, make_ticket):
    # Position 2 would only match once position 1 made the ticket urgent.
    make_trigger(
        "Then tag urgent ones",
        {"all": [{"field": "priority", "operator": "is", "value": "urgent"}]},
        [{"action": "add_tags", "value": "escalated"}],
        position=2,
    )
    make_trigger(
        "Outage is urgent",
        {"all": [{"field": "subject", "operator": "contains", "value": "outage"}]},
        [{"action": "set_priority", "value": "urgent"}],
        position=1,
    )
    ticket = make_ticket("Total outage since 9:00")
    assert ticket.priority == "urgent"
    assert tags(ticket) == {"escalated"}
    fired = list(TriggerFiring.objects.filter(ticket=ticket).order_by("id").values_list("trigger__name", flat=True))
    assert fired == ["Outage is urgent", "Then tag urgent ones"]


def test_update_trigger_reacts_to_changed_to_and_changed_from(make_trigger, make_ticket, agent, committed):
    make_trigger(
        "Pending -> open tag",
        {
            "all": [
                {"field": "status", "operator": "changed_from", "value": "pending"},
                {"field": "status", "operator": "changed_to", "value": "open"},
            ]
        },
        [{"action": "add_tags", "value": "customer-came-back"}],
    )
    ticket = make_ticket()
    with committed():
        ticket_change_status(ticket=ticket, status="open", actor=Actor.agent(agent))
    assert tags(ticket) == set()  # new -> open is not pending -> open
    with committed():
        ticket_change_status(ticket=ticket, status="pending", actor=Actor.agent(agent))
    with committed():
        ticket_change_status(ticket=ticket, status="open", actor=Actor.agent(agent))
    assert tags(ticket) == {"customer-came-back"}


def test_customer_reply_and_agent_reply_are_different_events(make_trigger, customer_writes, agent, committed):
    make_trigger(
        "Customer wrote",
        {"all": [{"field": "event", "operator": "is", "value": "customer_reply"}]},
        [{"action": "add_tags", "value": "customer-wrote"}],
    )
    make_trigger(
        "Agent answered",
        {"all": [{"field": "event", "operator": "is", "value": "agent_reply"}]},
        [{"action": "add_tags", "value": "agent-answered"}],
    )
    ticket = customer_writes("My parcel is late")
    assert tags(ticket) == set()  # the first message creates the ticket; it is not a reply
    with committed():
        ticket_reply(ticket=ticket, author=agent, body_text="Looking into it")
    assert tags(ticket) == {"agent-answered"}
    customer_writes("Any news?", ticket=ticket)
    assert tags(ticket) == {"agent-answered", "customer-wrote"}


def test_body_condition_reads_the_reply_that_arrived(make_trigger, customer_writes):
    make_trigger(
        "Angry words",
        {
            "all": [
                {"field": "event", "operator": "is", "value": "customer_reply"},
                {"field": "body", "operator": "contains", "value": "cancel my account"},
            ]
        },
        [{"action": "set_priority", "value": "high"}],
    )
    ticket = customer_writes("Where is my invoice?")
    customer_writes("Fine, thanks", ticket=ticket)
    ticket.refresh_from_db()
    assert ticket.priority == "normal"
    customer_writes("I will CANCEL MY ACCOUNT today", ticket=ticket)
    ticket.refresh_from_db()
    assert ticket.priority == "high"


def test_two_triggers_that_would_ping_pong_fire_once_each(make_trigger, make_ticket, agent, committed):
    make_trigger(
        "x->y",
        {"all": [{"field": "tags", "operator": "contains", "value": "x"}]},
        [{"action": "remove_tags", "value": "x"}, {"action": "add_tags", "value": "y"}],
    )
    make_trigger(
        "y->x",
        {"all": [{"field": "tags", "operator": "contains", "value": "y"}]},
        [{"action": "remove_tags", "value": "y"}, {"action": "add_tags", "value": "x"}],
    )
    ticket = make_ticket()
    with committed():
        ticket_tags_add(ticket=ticket, names=["x"], actor=Actor.agent(agent))

    assert tags(ticket) == {"x"}  # x -> y (first trigger) -> x (second), then the chain stops
    firings = TriggerFiring.objects.filter(ticket=ticket)
    assert sorted(firings.values_list("trigger__name", flat=True)) == ["x->y", "y->x"]
    assert len({f.chain for f in firings}) == 1


def test_a_trigger_does_not_react_to_its_own_change(make_trigger, make_ticket, agent, committed):
    # Its own action (a priority change) would match its own condition again and again.
    make_trigger(
        "Bump on priority change",
        {"all": [{"field": "priority", "operator": "changed", "value": None}]},
        [{"action": "add_tags", "value": "bumped"}, {"action": "set_priority", "value": "urgent"}],
    )
    ticket = make_ticket()
    with committed():
        ticket_update(ticket=ticket, changes={"priority": "high"}, actor=Actor.agent(agent))
    ticket.refresh_from_db()
    assert ticket.priority == "urgent"
    assert TriggerFiring.objects.filter(ticket=ticket).count() == 1


@override_settings(AUTOMATION_TRIGGER_MAX_DEPTH=2)
def test_a_long_chain_stops_at_the_depth_limit(make_trigger, make_ticket, agent, committed):
    for step in range(1, 5):
        make_trigger(
            f"step {step}",
            {"all": [{"field": "tags", "operator": "contains", "value": f"s{step - 1}"}]},
            [{"action": "add_tags", "value": f"s{step}"}],
            position=step,
        )
    ticket = make_ticket()
    with committed():
        ticket_tags_add(ticket=ticket, names=["s0"], actor=Actor.agent(agent))
    # Within one pass, later triggers see earlier tags: step 1 and 2 fire on the person's change
    # (depth 0); their changes are depth 1; what those cause is depth 2 and is not evaluated.
    assert {"s0", "s1", "s2"} <= tags(ticket)
    assert max(TriggerFiring.objects.filter(ticket=ticket).values_list("depth", flat=True)) < 2


@override_settings(AUTOMATION_TRIGGER_MAX_PER_HOUR=2)
def test_auto_replies_ping_pong_is_stopped_by_the_rate_limit(make_trigger, customer_writes):
    make_trigger(
        "Acknowledge every customer message",
        {"all": [{"field": "event", "operator": "is", "value": "customer_reply"}]},
        [{"action": "send_message", "text": "Thanks {{ customer.first_name }}, we got it (#{{ ticket.number }})."}],
    )
    ticket = customer_writes("Start")
    for n in range(4):  # the customer's auto-responder answers each acknowledgement
        customer_writes(f"I am out of office ({n})", ticket=ticket)
    sent = Message.objects.filter(ticket=ticket, author_kind="system")
    assert sent.count() == 2
    assert sent.first().body_text == f"Thanks Ana, we got it (#{ticket.number})."
    assert TriggerFiring.objects.filter(ticket=ticket, outcome=FiringOutcome.RATE_LIMITED).count() == 2


def test_running_the_task_again_fires_nothing_more(make_trigger, make_ticket):
    make_trigger(
        "Tag new",
        STATUS_IS_NEW,
        [
            {"action": "add_tags", "value": "fresh"},
            {"action": "notify", "to": "user", "user": make_agent("bob").pk, "text": "New: #{{ ticket.number }}"},
        ],
    )
    ticket = make_ticket()
    assert Notification.objects.count() == 1
    again = triggers_run(ticket_id=ticket.pk)
    assert again.fired == [] and again.events == 0
    assert Notification.objects.count() == 1
    assert TriggerFiring.objects.count() == 1
    assert TriggerEventMark.objects.filter(ticket=ticket).exists()


def test_inactive_triggers_do_nothing(make_trigger, make_ticket):
    make_trigger("Off", STATUS_IS_NEW, [{"action": "add_tags", "value": "nope"}], is_active=False)
    assert tags(make_ticket()) == set()


def test_a_refused_action_is_reported_and_the_others_still_run(make_trigger, make_ticket):
    make_trigger(
        "Bad then good",
        STATUS_IS_NEW,
        [{"action": "set_status", "value": "closed"}, {"action": "add_tags", "value": "still-ran"}],
    )
    ticket = make_ticket()
    assert ticket.status == TicketStatus.NEW
    assert tags(ticket) == {"still-ran"}
    results = TriggerFiring.objects.get(ticket=ticket).results
    assert results[0]["ok"] is False and "cannot go from New to Closed" in results[0]["detail"]
    assert results[1]["ok"] is True
