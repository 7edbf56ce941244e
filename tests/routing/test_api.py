"""The routing API: agents read rules and team assignment settings, managers and admins write
them (validated, audited), read-only tokens cannot write."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apitokens.models import TokenScope
from apitokens.services import api_token_create
from tests.factories import TeamFactory, make_agent
from tickets.models import Event
from tickets.routing.models import RoutingRule, TeamAssignment

from .conftest import rule

pytestmark = pytest.mark.django_db

RULES = "/api/v1/routing-rules/"
CONFIGS = "/api/v1/team-assignments/"


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def manager():
    return make_agent("mia", role="manager")


@pytest.fixture
def agent():
    return make_agent("ana", role="agent")


def test_agent_reads_but_cannot_write(agent, team):
    existing = rule("Chats", channels=["chat"], set_team=team)
    client = api_as(agent)
    listed = client.get(RULES)
    assert listed.status_code == 200
    assert [r["name"] for r in listed.json()["results"]] == ["Chats"]
    assert client.get(f"{RULES}{existing.pk}/").json()["channels"] == ["chat"]
    assert client.post(RULES, {"name": "Mine", "set_priority": "high"}, format="json").status_code == 403
    assert client.patch(f"{RULES}{existing.pk}/", {"is_active": False}, format="json").status_code == 403
    assert client.delete(f"{RULES}{existing.pk}/").status_code == 403
    assert client.post(CONFIGS, {"team": team.pk, "strategy": "round_robin"}, format="json").status_code == 403
    assert RoutingRule.objects.get(pk=existing.pk).is_active is True
    assert not TeamAssignment.objects.exists()


def test_customers_and_anonymous_users_get_nothing(team):
    from tests.factories import CustomerFactory, make_customer_user

    assert APIClient().get(RULES).status_code == 401
    customer_user = make_customer_user(CustomerFactory())
    assert api_as(customer_user).get(RULES).status_code == 403


def test_manager_creates_changes_and_deletes_a_rule_audited(manager, team):
    client = api_as(manager)
    created = client.post(
        RULES,
        {
            "name": "Billing words",
            "keywords": ["Invoice", "refund"],
            "channels": ["email", "web"],
            "tags_match": "all",
            "set_team": team.pk,
            "set_priority": "high",
            "add_tags": ["billing"],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["keywords"] == ["invoice", "refund"]
    pk = body["id"]
    changed = client.patch(f"{RULES}{pk}/", {"position": 5, "is_active": False}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["position"], changed.json()["is_active"]) == (5, False)
    assert client.delete(f"{RULES}{pk}/").status_code == 204
    assert not RoutingRule.objects.filter(pk=pk).exists()
    verbs = list(Event.objects.filter(object_type="routingrule", object_id=pk).values_list("verb", "field"))
    assert ("created", "") in verbs and ("changed", "position") in verbs and ("deleted", "") in verbs


def test_bad_rules_get_clear_errors(manager):
    client = api_as(manager)
    unknown = client.post(RULES, {"name": "x", "channels": ["pigeon"], "set_priority": "high"}, format="json")
    assert unknown.status_code == 400
    assert "channels" in unknown.content.decode()
    no_action = client.post(RULES, {"name": "y", "keywords": ["a"]}, format="json")
    assert no_action.status_code == 400
    assert "at least one action" in no_action.content.decode()
    rule("Taken", set_priority="low")
    duplicate = client.post(RULES, {"name": "Taken", "set_priority": "high"}, format="json")
    assert duplicate.status_code == 400
    assert RoutingRule.objects.count() == 1


def test_manager_sets_team_assignment(manager, team):
    client = api_as(manager)
    created = client.post(CONFIGS, {"team": team.pk, "strategy": "skills", "chat_offer_minutes": 4}, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert client.patch(f"{CONFIGS}{pk}/", {"strategy": "round_robin"}, format="json").json()["strategy"] == (
        "round_robin"
    )
    again = client.post(CONFIGS, {"team": team.pk, "strategy": "skills"}, format="json")
    assert again.status_code == 400
    assert client.patch(f"{CONFIGS}{pk}/", {"chat_offer_minutes": 0}, format="json").status_code == 400
    assert client.patch(f"{CONFIGS}{pk}/", {"strategy": "coin_toss"}, format="json").status_code == 400
    assert TeamAssignment.objects.get(pk=pk).strategy == "round_robin"


def test_read_only_token_cannot_write(manager):
    token, key = api_token_create(user=manager, name="ro", scopes=[TokenScope.READ])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(RULES).status_code == 200
    assert client.post(RULES, {"name": "x", "set_priority": "high"}, format="json").status_code == 403


def test_rule_list_query_count(agent, django_assert_max_num_queries):
    teams = [TeamFactory() for _ in range(3)]
    for i in range(20):
        rule(f"Rule {i}", set_team=teams[i % 3], channels=["chat"])
    client = api_as(agent)
    with django_assert_max_num_queries(6):
        response = client.get(RULES)
    assert len(response.json()["results"]) == 20
