"""Routing settings in the Django admin: managers and admins edit them (audited), agents do not
see them."""

from __future__ import annotations

import pytest

from tests.factories import make_agent
from tickets.models import Event
from tickets.routing.models import RoutingRule

pytestmark = pytest.mark.django_db

PAGES = ["routingrule", "teamassignment", "skill", "agentskill", "agentschedule", "ticketroute", "chatoffer"]


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_managers_and_admins_open_every_routing_page(client, role):
    client.force_login(make_agent(f"{role}-1", role=role))
    for name in PAGES:
        assert client.get(f"/admin/routing/{name}/").status_code == 200, name
    assert client.get("/admin/routing/routingrule/add/").status_code == 200


def test_a_rule_created_in_the_admin_is_validated_and_audited(client, team):
    manager = make_agent("mia", role="manager")
    client.force_login(manager)
    form = {
        "name": "Refunds",
        "position": "1",
        "is_active": "on",
        "stop_processing": "on",
        "channels": ["email"],
        "keywords": "refund, money back",
        "tags": "",
        "tags_match": "any",
        "set_team": str(team.pk),
        "set_priority": "high",
        "add_tags": "billing",
        "require_skills": "",
    }
    response = client.post("/admin/routing/routingrule/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    created = RoutingRule.objects.get(name="Refunds")
    assert created.keywords == ["money back", "refund"] and created.channels == ["email"]
    assert Event.objects.filter(object_type="routingrule", object_id=created.pk, verb="created").exists()


def test_agents_cannot_reach_routing_admin(client):
    client.force_login(make_agent("ana", role="agent"))
    assert client.get("/admin/routing/routingrule/").status_code in (302, 403)
