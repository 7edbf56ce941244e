"""Every condition field and operator, on real tickets: a trigger tagged "hit" fires exactly
on the tickets the condition describes."""

from __future__ import annotations

import pytest

from tests.factories import CustomerFactory, OrganizationFactory, TeamFactory
from tickets.automation.rules import Facts, Happening, conditions_hold, facts_for
from tickets.services.events import Actor
from tickets.services.tickets import ticket_tags_set

pytestmark = pytest.mark.django_db


def fired(make_trigger, make_ticket, condition, *, tickets) -> list[bool]:
    """Make a trigger with one condition (and an "any" placeholder-free form), then create
    the given tickets (dicts of ticket_create fields) and say which got tagged."""
    make_trigger("probe", {"all": [condition]}, [{"action": "add_tags", "value": "hit"}])
    return ["hit" in make_ticket(**fields).tags.values_list("name", flat=True) for fields in tickets]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"field": "priority", "operator": "is", "value": "high"}, [True, False]),
        ({"field": "priority", "operator": "is_not", "value": "high"}, [False, True]),
        ({"field": "priority", "operator": "in", "value": ["high", "urgent"]}, [True, False]),
        ({"field": "priority", "operator": "not_in", "value": ["high", "urgent"]}, [False, True]),
        ({"field": "channel", "operator": "is", "value": "chat"}, [True, False]),
        ({"field": "channel", "operator": "not_in", "value": ["chat", "sms"]}, [False, True]),
        ({"field": "type", "operator": "is", "value": "incident"}, [True, False]),
        ({"field": "language", "operator": "is", "value": "ru"}, [True, False]),
        ({"field": "subject", "operator": "contains", "value": "OUTAGE"}, [True, False]),
        ({"field": "subject", "operator": "not_contains", "value": "outage"}, [False, True]),
        ({"field": "status", "operator": "is", "value": "new"}, [True, True]),
        ({"field": "event", "operator": "is", "value": "ticket_created"}, [True, True]),
        ({"field": "event", "operator": "in", "value": ["agent_reply", "customer_reply"]}, [False, False]),
        ({"field": "event", "operator": "not_in", "value": ["agent_reply"]}, [True, True]),
    ],
)
def test_ticket_field_operators(make_trigger, make_ticket, condition, expected):
    tickets = [
        {"subject": "Big outage", "priority": "high", "channel": "chat", "type": "incident", "language": "ru"},
        {"subject": "Question", "priority": "low", "channel": "email", "type": "question", "language": "en"},
    ]
    assert fired(make_trigger, make_ticket, condition, tickets=tickets) == expected


def test_team_assignee_organization_and_tier(make_trigger, make_ticket, agent):
    billing = TeamFactory(name="Billing team")
    acme = OrganizationFactory(name="Acme", tier="enterprise")
    vip = CustomerFactory(name="Vera", organization=acme)
    plain = CustomerFactory(name="Paulo")
    cases = [
        ({"field": "team", "operator": "is", "value": billing.pk}, [True, False]),
        ({"field": "team", "operator": "is", "value": None}, [False, True]),
        ({"field": "team", "operator": "is_not", "value": billing.pk}, [False, True]),
        ({"field": "assignee", "operator": "is", "value": agent.pk}, [True, False]),
        ({"field": "assignee", "operator": "is", "value": "unassigned"}, [False, True]),
        ({"field": "assignee", "operator": "is_not", "value": "unassigned"}, [True, False]),
        ({"field": "organization", "operator": "is", "value": acme.pk}, [True, False]),
        ({"field": "organization", "operator": "is_not", "value": None}, [True, False]),
        ({"field": "customer_tier", "operator": "is", "value": "enterprise"}, [True, False]),  # via the organization
        ({"field": "customer_tier", "operator": "in", "value": ["standard"]}, [False, True]),
    ]
    from tickets.automation.models import Trigger

    for condition, expected in cases:
        Trigger.objects.all().delete()
        got = fired(
            make_trigger,
            make_ticket,
            condition,
            tickets=[{"requester": vip, "team": billing, "assignee": agent}, {"requester": plain}],
        )
        assert got == expected, condition


def test_tags_contains_and_not_contains(make_ticket, make_trigger, agent, committed):
    make_trigger(
        "has vip",
        {"all": [{"field": "tags", "operator": "contains", "value": ["vip", "gold"]}]},
        [{"action": "set_priority", "value": "high"}],
    )
    make_trigger(
        "no spam",
        {
            "all": [
                {"field": "tags", "operator": "not_contains", "value": "spam"},
                {"field": "tags", "operator": "changed"},
            ]
        },
        [{"action": "set_status", "value": "open"}],
    )
    gold, spam = make_ticket("A"), make_ticket("B")
    with committed():
        ticket_tags_set(ticket=gold, names=["gold"], actor=Actor.agent(agent))
        ticket_tags_set(ticket=spam, names=["spam"], actor=Actor.agent(agent))
    gold.refresh_from_db()
    spam.refresh_from_db()
    assert (gold.priority, gold.status) == ("high", "open")
    assert (spam.priority, spam.status) == ("normal", "new")


def _facts(**changes) -> Facts:
    base = dict(
        status="open",
        priority="normal",
        type="question",
        channel="email",
        customer_tier="standard",
        language="en",
        team=None,
        assignee=None,
        organization=None,
        tags=set(),
        subject="Hello",
        body="body text",
        times={},
    )
    return Facts(**{**base, **changes})


def test_all_and_any_combine():
    conditions = {
        "all": [{"field": "status", "operator": "is", "value": "open"}],
        "any": [
            {"field": "priority", "operator": "is", "value": "urgent"},
            {"field": "channel", "operator": "is", "value": "chat"},
        ],
    }
    assert conditions_hold(conditions, _facts(channel="chat"))
    assert conditions_hold(conditions, _facts(priority="urgent"))
    assert not conditions_hold(conditions, _facts())
    assert not conditions_hold(conditions, _facts(status="pending", channel="chat"))
    assert conditions_hold({"all": [], "any": []}, _facts())


def test_changed_operators_read_the_happening():
    happening = Happening(
        kinds={"ticket_updated"},
        changes={"status": ("pending", "open"), "assignee": (None, {"id": 7, "label": "bob"})},
    )
    holds = lambda c: conditions_hold({"all": [c]}, _facts(), happening=happening)  # noqa: E731
    assert holds({"field": "status", "operator": "changed"})
    assert holds({"field": "status", "operator": "changed_to", "value": "open"})
    assert holds({"field": "status", "operator": "changed_from", "value": "pending"})
    assert not holds({"field": "status", "operator": "changed_from", "value": "new"})
    assert holds({"field": "assignee", "operator": "changed"})
    assert not holds({"field": "priority", "operator": "changed"})
    assert holds({"field": "priority", "operator": "not_changed"})
    assert holds({"field": "event", "operator": "is", "value": "ticket_updated"})
    assert holds({"field": "event", "operator": "is_not", "value": "agent_reply"})


def test_body_without_a_reply_reads_the_latest_public_message(customer_writes):
    ticket = customer_writes("The printer is on fire")
    facts = facts_for(ticket)
    assert conditions_hold({"all": [{"field": "body", "operator": "contains", "value": "on fire"}]}, facts)
    assert conditions_hold({"all": [{"field": "body", "operator": "not_contains", "value": "refund"}]}, facts)
