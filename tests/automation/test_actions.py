"""Each action a rule can take, seen the way an agent or customer would see it."""

from __future__ import annotations

import pytest

from tests.factories import make_agent
from tickets.automation.models import Notification, TriggerFiring
from tickets.models import Event, Message

pytestmark = pytest.mark.django_db

ON_CREATE = {"all": [{"field": "event", "operator": "is", "value": "ticket_created"}]}


def test_set_status_priority_team_and_assignee(make_trigger, make_ticket, team):
    bob = make_agent("bob")
    make_trigger(
        "Route",
        ON_CREATE,
        [
            {"action": "set_status", "value": "open"},
            {"action": "set_priority", "value": "low"},
            {"action": "set_team", "value": team.pk},
            {"action": "set_assignee", "value": bob.pk},
        ],
    )
    ticket = make_ticket()
    assert (ticket.status, ticket.priority, ticket.team, ticket.assignee) == ("open", "low", team, bob)
    assert Event.objects.filter(ticket=ticket, verb="assigned", actor_kind="system").exists()


def test_unassign_and_remove_tags(make_trigger, make_ticket, agent):
    make_trigger(
        "Spam cleanup",
        {"all": [{"field": "subject", "operator": "contains", "value": "lottery"}]},
        [
            {"action": "set_assignee", "value": None},
            {"action": "remove_tags", "value": ["inbox"]},
            {"action": "add_tags", "value": "spam"},
        ],
        position=2,
    )
    make_trigger("Tag inbox", ON_CREATE, [{"action": "add_tags", "value": ["inbox", "email"]}], position=1)
    ticket = make_ticket("You won the lottery", assignee=agent)
    assert ticket.assignee is None
    assert set(ticket.tags.values_list("name", flat=True)) == {"email", "spam"}


def test_notify_assignee_team_lead_and_a_named_user(make_trigger, make_ticket, agent, team, manager):
    carol = make_agent("carol")
    make_trigger(
        "Tell everyone",
        ON_CREATE,
        [
            {"action": "notify", "to": "assignee", "text": "#{{ ticket.number }} is yours, {{ assignee.name }}."},
            {"action": "notify", "to": "team_lead", "text": "New in {{ team.name }}: {{ ticket.subject }}"},
            {"action": "notify", "to": "user", "user": carol.pk, "text": "FYI {{ customer.name }}"},
        ],
    )
    ticket = make_ticket("Broken login", assignee=agent, team=team)
    texts = {n.user.username: n.text for n in Notification.objects.select_related("user")}
    assert texts == {
        "alice": f"#{ticket.number} is yours, alice.",
        "mona": "New in Billing: Broken login",
        "carol": "FYI Ana Souza",
    }
    shown = Event.objects.filter(ticket=ticket, verb="notified")
    assert shown.count() == 3  # on the ticket's timeline too


def test_notify_with_nobody_to_tell_is_noted_not_failed(make_trigger, make_ticket):
    make_trigger("Tell assignee", ON_CREATE, [{"action": "notify", "to": "assignee", "text": "hi"}])
    ticket = make_ticket()
    result = TriggerFiring.objects.get(ticket=ticket).results[0]
    assert result["ok"] and result["skipped"] and "Nobody to notify" in result["detail"]
    assert not Notification.objects.exists()


def test_send_message_renders_placeholders_safely_and_queues_on_the_reply_channel(make_trigger, customer_writes):
    make_trigger(
        "Acknowledge",
        ON_CREATE,
        [
            {
                "action": "send_message",
                "text": "Hi {{ customer.first_name }}, ticket #{{ ticket.number }} ({{ ticket.subject }}) "
                "is {{ ticket.status }}.{{ ticket.requester.user.password }}",
            }
        ],
    )
    ticket = customer_writes("Order <b>late</b> & lost", subject="Order <b>late</b> & lost")
    message = Message.objects.get(ticket=ticket, author_kind="system")
    assert message.body_text == f"Hi Ana, ticket #{ticket.number} (Order <b>late</b> & lost) is New."
    assert message.channel == "email"
    assert message.metadata["kind"] == "automation" and message.metadata["auto_submitted"] is True
    assert message.delivery_status in ("queued", "sending", "sent", "delivered", "failed")
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None  # an automatic message is not an agent's answer
