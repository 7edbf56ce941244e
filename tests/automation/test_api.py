"""Triggers and automations through the REST API: managers write, agents read, mistakes are
clear 400s."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import make_agent
from tickets.automation.models import Automation, Trigger, WebhookTarget
from tickets.models import Event

pytestmark = pytest.mark.django_db

GOOD_TRIGGER = {
    "name": "VIP to urgent",
    "conditions": {"all": [{"field": "customer_tier", "operator": "is", "value": "enterprise"}], "any": []},
    "actions": [{"action": "set_priority", "value": "urgent"}],
}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_manager_creates_changes_and_deletes_a_trigger(manager):
    api = client_for(manager)
    created = api.post("/api/v1/triggers/", GOOD_TRIGGER, format="json")
    assert created.status_code == 201, created.content
    trigger_id = created.json()["id"]
    assert Trigger.objects.get(pk=trigger_id).created_by == manager

    changed = api.patch(f"/api/v1/triggers/{trigger_id}/", {"is_active": False, "position": 3}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["is_active"], changed.json()["position"]) == (False, 3)
    assert Event.objects.filter(object_type="trigger", object_id=trigger_id, verb="changed").count() == 2

    assert api.delete(f"/api/v1/triggers/{trigger_id}/").status_code == 204
    assert not Trigger.objects.filter(pk=trigger_id).exists()


def test_agents_read_rules_but_cannot_write_them(manager, agent):
    client_for(manager).post("/api/v1/triggers/", GOOD_TRIGGER, format="json")
    api = client_for(agent)
    listed = api.get("/api/v1/triggers/")
    assert listed.status_code == 200
    assert [t["name"] for t in listed.json()["results"]] == ["VIP to urgent"]
    refused = api.post("/api/v1/triggers/", GOOD_TRIGGER, format="json")
    assert refused.status_code == 403
    assert "admins and managers" in refused.json()["error"]["message"]
    trigger_id = listed.json()["results"][0]["id"]
    assert api.patch(f"/api/v1/triggers/{trigger_id}/", {"is_active": False}, format="json").status_code == 403
    assert api.delete(f"/api/v1/triggers/{trigger_id}/").status_code == 403


def test_customers_and_strangers_get_nothing(customer_user_client):
    assert customer_user_client.get("/api/v1/triggers/").status_code == 403
    assert APIClient().get("/api/v1/automations/").status_code in (401, 403)


@pytest.fixture
def customer_user_client():
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username="visitor", password="pw-for-tests-1")
    return client_for(user)


@pytest.mark.parametrize(
    ("body", "field", "expected"),
    [
        (
            {"conditions": {"all": [{"field": "colour", "operator": "is", "value": "red"}]}},
            "conditions",
            "all[0]: unknown field 'colour'",
        ),
        (
            {"conditions": {"all": [{"field": "status", "operator": "bigger", "value": "open"}]}},
            "conditions",
            "all[0]: unknown operator 'bigger' for field status",
        ),
        (
            {"conditions": {"any": [{"field": "status", "operator": "is", "value": "archived"}]}},
            "conditions",
            "any[0]: the value must be one of: new, open",
        ),
        (
            {"conditions": {"all": [{"field": "team", "operator": "is", "value": 99999}]}},
            "conditions",
            "the id of a team",
        ),
        ({"actions": [{"action": "explode"}]}, "actions", "actions[0]: unknown action 'explode'"),
        ({"actions": [{"action": "set_priority", "value": "asap"}]}, "actions", "the priority must be one of"),
        (
            {"actions": [{"action": "send_message", "text": "Hi {{ customer.name|nosuchfilter }}"}]},
            "actions",
            "mistake in a placeholder",
        ),
        ({"actions": [{"action": "notify", "to": "everyone", "text": "x"}]}, "actions", 'notify needs "to"'),
        ({"actions": []}, "actions", "non-empty list"),
    ],
)
def test_bad_rules_are_refused_with_the_place_of_the_mistake(manager, body, field, expected):
    response = client_for(manager).post("/api/v1/triggers/", {**GOOD_TRIGGER, **body}, format="json")
    assert response.status_code == 400, response.content
    problems = " ".join(response.json()["error"]["fields"][field])
    assert expected in problems
    assert not Trigger.objects.exists()


def test_an_automation_needs_a_time_condition_and_triggers_cannot_use_one(manager):
    api = client_for(manager)
    no_time = api.post(
        "/api/v1/automations/",
        {
            "name": "Close",
            "conditions": {"all": [{"field": "status", "operator": "is", "value": "solved"}]},
            "actions": [{"action": "set_status", "value": "closed"}],
        },
        format="json",
    )
    assert no_time.status_code == 400
    assert "hours_since_" in " ".join(no_time.json()["error"]["fields"]["conditions"])
    hours_in_trigger = api.post(
        "/api/v1/triggers/",
        {**GOOD_TRIGGER, "conditions": {"all": [{"field": "hours_since_created", "operator": "at_least", "value": 2}]}},
        format="json",
    )
    assert hours_in_trigger.status_code == 400
    ok = api.post(
        "/api/v1/automations/",
        {
            "name": "Close",
            "conditions": {
                "all": [
                    {"field": "status", "operator": "is", "value": "solved"},
                    {"field": "hours_since_solved", "operator": "at_least", "value": 96},
                ]
            },
            "actions": [{"action": "set_status", "value": "closed"}],
        },
        format="json",
    )
    assert ok.status_code == 201, ok.content
    assert Automation.objects.get().conditions["all"][1]["value"] == 96


def test_rule_lists_are_paginated_without_a_query_per_rule(manager, django_assert_max_num_queries):
    api = client_for(manager)
    for n in range(12):
        assert api.post("/api/v1/triggers/", {**GOOD_TRIGGER, "name": f"T{n}"}, format="json").status_code == 201
    with django_assert_max_num_queries(8):
        page = api.get("/api/v1/triggers/?page_size=5")
    assert len(page.json()["results"]) == 5 and page.json()["next"]


def test_webhook_targets_return_the_secret_once_and_refuse_private_addresses(manager, agent, settings):
    settings.AUTOMATION_WEBHOOK_ALLOW_PRIVATE = False
    settings.NETGUARD_ALLOW = []
    api = client_for(manager)
    private = api.post(
        "/api/v1/rule-webhook-targets/", {"name": "CRM", "url": "http://127.0.0.1:8080/x"}, format="json"
    )
    assert private.status_code == 400
    assert "private" in " ".join(private.json()["error"]["fields"]["url"])
    created = api.post(
        "/api/v1/rule-webhook-targets/", {"name": "CRM", "url": "https://93.184.215.14/hook"}, format="json"
    )
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    target = WebhookTarget.objects.get()
    assert secret not in target.secret_encrypted
    shown = api.get(f"/api/v1/rule-webhook-targets/{target.pk}/").json()
    assert "secret" not in shown
    assert client_for(agent).get("/api/v1/rule-webhook-targets/").status_code == 403


def test_a_light_agent_reads_rules_too(manager):
    light = make_agent("lee", role="light_agent")
    client_for(manager).post("/api/v1/triggers/", GOOD_TRIGGER, format="json")
    assert client_for(light).get("/api/v1/triggers/").status_code == 200
