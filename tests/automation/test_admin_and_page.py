"""Rules in the Django admin (JSON checked with clear messages) and the notifications page."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from tests.factories import make_agent
from tickets.automation.models import Notification, Trigger

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-1")
    client.force_login(user)
    return client


def form(conditions, actions, name="Escalate") -> dict:
    return {
        "name": name,
        "description": "",
        "is_active": "on",
        "position": "1",
        "conditions": json.dumps(conditions),
        "actions": json.dumps(actions),
    }


def test_admin_refuses_a_bad_operator_and_bad_json_with_clear_messages(admin_client):
    bad = admin_client.post(
        "/admin/automation/trigger/add/",
        form(
            {"all": [{"field": "priority", "operator": "above", "value": "high"}]},
            [{"action": "add_tags", "value": "x"}],
        ),
    )
    assert bad.status_code == 200
    page = bad.content.decode()
    assert "all[0]: unknown operator &#x27;above&#x27; for field priority" in page
    broken = admin_client.post("/admin/automation/trigger/add/", {**form({}, []), "actions": "[{oops"})
    assert "Enter a valid JSON." in broken.content.decode()
    assert not Trigger.objects.exists()


def test_admin_saves_a_good_trigger_through_the_service(admin_client):
    response = admin_client.post(
        "/admin/automation/trigger/add/",
        form(
            {"all": [{"field": "status", "operator": "is", "value": "new"}]}, [{"action": "add_tags", "value": "seen"}]
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    trigger = Trigger.objects.get()
    assert trigger.actions == [{"action": "add_tags", "value": "seen"}]
    assert trigger.created_by.username == "root"


def test_notifications_page_lists_only_mine_in_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    me, other = make_agent("maria"), make_agent("otto")
    for n in range(30):
        Notification.objects.create(user=me, text=f"note {n}")
    Notification.objects.create(user=other, text="not yours")
    client.force_login(me)
    with django_assert_max_num_queries(8):
        response = client.get("/agent/notifications/")
    page = response.content.decode()
    assert page.count("note ") == 30 and "not yours" not in page
    client.post("/agent/notifications/read/")
    assert not Notification.objects.filter(user=me, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=other, read_at__isnull=True).exists()


def test_the_page_is_for_agents_only(client):
    visitor = get_user_model().objects.create_user("visitor", password="pw-for-tests-1")
    client.force_login(visitor)
    assert client.get("/agent/notifications/").status_code == 403
