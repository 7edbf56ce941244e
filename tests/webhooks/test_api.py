"""/api/v1/webhooks/: admins and managers only, secrets shown once, the delivery log, redelivery."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import assert_error, token_for
from tests.factories import CustomerFactory, make_agent
from tickets.models import Event
from tickets.services.events import Actor
from tickets.services.tickets import ticket_create
from webhooks.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db

BASE = "/api/v1/webhooks/subscriptions/"


def client(user, scope: str = "write") -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user, scope)}")
    return api


def test_a_manager_subscribes_and_sees_the_secret_only_once(manager, receiver, django_capture_on_commit_callbacks):
    api = client(manager)
    response = api.post(
        BASE, {"url": receiver.url, "event_types": ["ticket.created"], "description": "CRM"}, format="json"
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 30
    subscription = WebhookSubscription.objects.get(pk=created["id"])
    assert created["secret"] not in subscription.secret_encrypted  # stored encrypted
    assert subscription.created_by == manager

    for answer in (api.get(BASE), api.get(f"{BASE}{created['id']}/")):
        assert answer.status_code == 200
        assert created["secret"] not in answer.content.decode()
        assert "secret" not in str(answer.json().keys())
    # Audit events never carry it either.
    assert not any(created["secret"] in str(e.data) + str(e.new_value) for e in Event.objects.all())

    # The secret works: a ticket's delivery verifies with it.
    receiver.secret = created["secret"]
    with django_capture_on_commit_callbacks(execute=True):
        ticket_create(requester=CustomerFactory(), subject="Hi", channel="email", actor=Actor.system())
    assert [r.verified for r in receiver.requests] == [True]


def test_a_chosen_secret_is_accepted_and_echoed_once(manager):
    response = client(manager).post(
        BASE,
        {"url": "https://crm.example.com/hook", "event_types": ["message.created"], "secret": "s" * 24},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["secret"] == "s" * 24


@pytest.mark.parametrize("role", ["agent", "light_agent"])
def test_agents_cannot_see_or_manage_webhooks(role, manager):
    WebhookSubscription.objects.create(
        url="https://x.example.com", event_types=["ticket.created"], secret_encrypted="x"
    )
    api = client(make_agent("sam", role=role))
    assert_error(api.get(BASE), 403, "permission_denied", "admins and managers")
    assert_error(
        api.post(BASE, {"url": "https://x.example.com", "event_types": ["ticket.created"]}, format="json"),
        403,
        "permission_denied",
    )


def test_an_admin_may_and_anonymous_may_not(manager):
    assert client(make_agent("ada", role="admin")).get(BASE).status_code == 200
    assert_error(APIClient().get(BASE), 401, "not_authenticated")


def test_a_read_only_token_cannot_subscribe(manager):
    response = client(manager, scope="read").post(
        BASE, {"url": "https://x.example.com", "event_types": ["ticket.created"]}, format="json"
    )
    assert_error(response, 403, "permission_denied", "read-only")


def test_invalid_input_uses_the_one_error_format(manager):
    api = client(manager)
    error = assert_error(
        api.post(BASE, {"url": "ftp://x.example.com", "event_types": ["ticket.exploded"]}, format="json"),
        400,
        "invalid",
    )
    assert set(error["fields"]) == {"url", "event_types"}
    assert_error(api.post(BASE, {"url": "https://x.example.com", "event_types": []}, format="json"), 400, "invalid")


def test_update_disable_enable_and_delete(manager, subscribe):
    subscription = subscribe(["ticket.created"])
    subscription.is_active, subscription.failure_count, subscription.disabled_reason = False, 7, "broken"
    subscription.save()
    api = client(manager)
    response = api.patch(
        f"{BASE}{subscription.pk}/", {"is_active": True, "event_types": ["ticket.solved"]}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["is_active"], body["failure_count"], body["disabled_reason"]) == (True, 0, "")
    assert body["event_types"] == ["ticket.solved"] and "secret" not in body
    rotated = api.patch(f"{BASE}{subscription.pk}/", {"secret": "n" * 20}, format="json").json()
    assert rotated["secret"] == "n" * 20
    assert "secret" not in api.get(f"{BASE}{subscription.pk}/").json()
    assert api.delete(f"{BASE}{subscription.pk}/").status_code == 204
    assert not WebhookSubscription.objects.exists()
    assert Event.objects.filter(object_type="webhooksubscription", verb="deleted").exists()


def test_delivery_log_and_redelivery(manager, receiver, subscribe, django_capture_on_commit_callbacks):
    other = subscribe(["customer.created"], url="https://other.example.com/hook")  # never called
    subscription = subscribe(["ticket.created"])
    receiver.statuses = [500, 200]
    with django_capture_on_commit_callbacks(execute=True):
        ticket_create(requester=CustomerFactory(), subject="Hi", channel="email", actor=Actor.system())
    api = client(manager)
    log = api.get(f"{BASE}{subscription.pk}/deliveries/")
    assert log.status_code == 200
    (row,) = log.json()["results"]
    assert (row["status"], row["attempts"], row["last_response_code"]) == ("pending", 1, 500)
    assert row["payload"]["event"] == "ticket.created"

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{BASE}{subscription.pk}/deliveries/{row['id']}/redeliver/")
    assert response.status_code == 202, response.content
    again = response.json()
    assert again["redelivery_of"] == row["id"] and again["id"] != row["id"]
    assert WebhookDelivery.objects.get(pk=again["id"]).status == "succeeded"
    assert [r.verified for r in receiver.requests] == [True, True]

    assert_error(api.post(f"{BASE}{other.pk}/deliveries/{row['id']}/redeliver/"), 404, "not_found")
    assert_error(client(make_agent("sam")).get(f"{BASE}{subscription.pk}/deliveries/"), 403, "permission_denied")
