"""Routing rules: each condition, each action, rule order, and routing exactly once per ticket,
whatever created the ticket."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tests.factories import CustomerFactory, OrganizationFactory, TeamFactory
from tickets.inbound import InboundMessage, InboundSender
from tickets.models import Event, Ticket
from tickets.routing.models import TicketRoute
from tickets.routing.services import ticket_route
from tickets.services.events import Actor
from tickets.services.ingest import message_ingest
from tickets.services.tickets import ticket_tags_set

from .conftest import new_ticket, rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing():
    return TeamFactory(name="Billing")


def routed(ticket: Ticket) -> Ticket:
    ticket_route(ticket_id=ticket.pk)
    return Ticket.objects.get(pk=ticket.pk)


def email(subject: str, body: str, sender: str = "ana@example.com", external_id: str = "<m1@example.com>"):
    return message_ingest(
        inbound=InboundMessage(
            channel="email",
            sender=InboundSender(kind="email", value=sender, name="Ana"),
            subject=subject,
            body_text=body,
            external_id=external_id,
        )
    )


def test_channel_condition(billing):
    rule("Chats to billing", channels=["chat"], set_team=billing)
    assert routed(new_ticket(channel="chat")).team == billing
    assert routed(new_ticket(channel="email")).team is None


@pytest.mark.parametrize(
    ("subject", "matches"),
    [
        ("Question about my INVOICE", True),  # any case
        ("Invoice-2291 is wrong", True),  # punctuation ends a word
        ("Invoices overview", False),  # a longer word is not the keyword
        ("Reinvoice please", False),
        ("Please issue a credit note", True),  # a phrase, words apart by any spacing
    ],
)
def test_keyword_condition_matches_whole_words_in_any_case(billing, subject, matches):
    rule("Billing words", keywords=["invoice", "credit   note"], set_team=billing)
    assert (routed(new_ticket(subject=subject)).team == billing) is matches


def test_keyword_in_first_message_body_counts(billing, django_capture_on_commit_callbacks):
    rule("Billing words", keywords=["refund"], set_team=billing)
    with django_capture_on_commit_callbacks(execute=True):
        result = email("Hello", "I would like a Refund for order 18.")
    ticket = Ticket.objects.get(pk=result.ticket.pk)
    assert ticket.team == billing
    # Only the first message counts: a later "refund" in a reply does not route anything.
    rule("Late words", keywords=["chargeback"], set_priority="urgent", position=5)
    with django_capture_on_commit_callbacks(execute=True):
        email("Re: Hello", "or a chargeback", external_id="<m2@example.com>")
    assert Ticket.objects.get(pk=ticket.pk).priority == "normal"


def test_language_condition(billing):
    rule("Portuguese", languages=["pt-br"], set_team=billing)
    assert routed(new_ticket(language="pt-br")).team == billing
    assert routed(new_ticket(language="en")).team is None


def test_customer_tier_condition_uses_the_higher_of_customer_and_organization(billing):
    rule("Enterprise", tiers=["enterprise"], set_priority="high")
    enterprise_org = OrganizationFactory(tier="enterprise")
    assert routed(new_ticket(customer=CustomerFactory(tier="enterprise"))).priority == "high"
    assert routed(new_ticket(customer=CustomerFactory(organization=enterprise_org))).priority == "high"
    assert routed(new_ticket(customer=CustomerFactory(tier="premium"))).priority == "normal"


def test_organization_condition(billing):
    acme, other = OrganizationFactory(name="Acme"), OrganizationFactory(name="Other")
    rule("Acme", organizations=[acme], set_team=billing)
    assert routed(new_ticket(customer=CustomerFactory(organization=acme))).team == billing
    assert routed(new_ticket(customer=CustomerFactory(organization=other))).team is None
    assert routed(new_ticket()).team is None


def _tagged(*names: str) -> Ticket:
    ticket = new_ticket()
    ticket_tags_set(ticket=ticket, names=names, actor=Actor.system())
    return ticket


def test_tags_condition_any(billing):
    rule("Any", tags=["vip", "press"], tags_match="any", set_team=billing)
    assert routed(_tagged("press")).team == billing
    assert routed(_tagged("other")).team is None


def test_tags_condition_all(billing):
    rule("All", tags=["vip", "press"], tags_match="all", set_team=billing)
    assert routed(_tagged("press")).team is None
    assert routed(_tagged("press", "vip", "x")).team == billing


def test_actions_set_team_priority_tags_and_record_the_rule_with_sla_reapplied(billing):
    matched = rule(
        "Billing", keywords=["invoice"], set_team=billing, set_priority="urgent", add_tags=["Billing", "money"]
    )
    ticket = routed(new_ticket(subject="Invoice wrong"))
    assert (ticket.team, ticket.priority) == (billing, "urgent")
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["billing", "money"]
    event = Event.objects.get(ticket=ticket, verb="routed")
    assert event.actor_kind == "system"
    assert event.data["rules"] == [{"id": matched.pk, "name": "Billing"}]
    assert event.data["tags_added"] == ["billing", "money"]
    # The changes went through the ticket services: each is in the audit log.
    changed = set(Event.objects.filter(ticket=ticket, verb="changed").values_list("field", flat=True))
    assert {"team", "priority", "tags"} <= changed


def test_rules_apply_by_position_and_stop_ends_evaluation(billing):
    sales = TeamFactory(name="Sales")
    rule("Later", position=20, keywords=["price"], set_team=sales, add_tags=["later"])
    rule("First", position=10, keywords=["price"], set_team=billing, stop_processing=True)
    ticket = routed(new_ticket(subject="price question"))
    assert ticket.team == billing
    assert not ticket.tags.exists()


def test_without_stop_later_rules_apply_too_and_see_earlier_tags(billing):
    rule("Tagger", position=1, keywords=["price"], add_tags=["sales-lead"], stop_processing=False)
    rule("By tag", position=2, tags=["sales-lead"], set_priority="high")
    ticket = routed(new_ticket(subject="price question"))
    assert ticket.priority == "high"
    assert list(Event.objects.get(ticket=ticket, verb="routed").data["rules"][i]["name"] for i in (0, 1)) == [
        "Tagger",
        "By tag",
    ]


def test_inactive_rules_are_skipped(billing):
    rule("Off", is_active=False, set_team=billing)
    assert routed(new_ticket()).team is None


def test_a_team_given_at_creation_is_kept(billing):
    given = TeamFactory(name="Chosen by agent")
    rule("All to billing", set_team=billing, set_priority="high")
    ticket = routed(new_ticket(team=given))
    assert (ticket.team, ticket.priority) == (given, "high")
    assert Event.objects.get(ticket=ticket, verb="routed").data["team_kept"] is True


def test_routing_runs_once_per_ticket(billing):
    rule("Billing", set_team=billing, add_tags=["x"])
    ticket = new_ticket()
    first = ticket_route(ticket_id=ticket.pk)
    second = ticket_route(ticket_id=ticket.pk)
    assert (first.routed, second.routed) == (True, False)
    assert Event.objects.filter(ticket=ticket, verb="routed").count() == 1
    assert TicketRoute.objects.filter(ticket=ticket).count() == 1


def test_a_ticket_matching_nothing_is_recorded_as_routed_without_an_event():
    ticket = new_ticket()
    assert ticket_route(ticket_id=ticket.pk).routed is True
    assert TicketRoute.objects.filter(ticket=ticket).exists()
    assert not Event.objects.filter(ticket=ticket, verb="routed").exists()


def test_a_rule_without_actions_or_with_unknown_values_is_refused():
    with pytest.raises(ValidationError, match="at least one action"):
        rule("Nothing", keywords=["x"])
    with pytest.raises(ValidationError) as caught:
        rule("Bad", channels=["pigeon"], set_priority="high")
    assert "channels" in caught.value.message_dict


def test_api_created_ticket_is_routed_after_commit(billing, client, django_capture_on_commit_callbacks):
    from tests.factories import make_agent

    rule("Urgent words", keywords=["outage"], set_team=billing)
    agent = make_agent("api-user", role="admin")
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/tickets/",
            {
                "requester_identity": {"kind": "email", "value": "li@example.com", "name": "Li"},
                "subject": "Help",
                "comment": "We have a total OUTAGE since 9:00.",
            },
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    assert Ticket.objects.get(number=response.json()["number"]).team == billing
