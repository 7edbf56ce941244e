"""Customers (with identities), organizations, teams, tags and agents."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_error
from tests.factories import CustomerFactory, IdentityFactory, OrganizationFactory, make_customer_user
from tickets.models import Customer, Event, Identity, Organization, Tag, Team

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers/"


def test_create_a_customer_with_identities(desk, client_for):
    org = OrganizationFactory(name="Acme")
    response = client_for(desk["alice"]).post(
        CUSTOMERS,
        {
            "name": "Bruno Lima",
            "organization": org.pk,
            "language": "pt-br",
            "attributes": {"plan": "gold"},
            "identities": [
                {"kind": "email", "value": "Bruno@Example.com"},
                {"kind": "phone", "value": "+55 11 91234-5678"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Bruno Lima" and body["organization"] == org.pk and body["language"] == "pt-br"
    assert sorted((i["kind"], i["value"]) for i in body["identities"]) == [
        ("email", "bruno@example.com"),
        ("phone", "+5511912345678"),
    ]
    customer = Customer.objects.get(pk=body["id"])
    assert Event.objects.filter(object_type="customer", object_id=customer.pk, verb="identity_added").count() == 2


def test_an_identity_that_belongs_to_someone_else_is_refused_and_nothing_is_created(desk, client_for):
    before = Customer.objects.count()
    response = client_for(desk["alice"]).post(
        CUSTOMERS, {"name": "Copy", "identities": [{"kind": "email", "value": "ana@example.com"}]}, format="json"
    )
    error = assert_error(response, 400, "identity_taken", "already belongs to customer")
    assert "identities[0]" in error["fields"]
    assert Customer.objects.count() == before


def test_an_unusable_identity_is_a_400(desk, client_for):
    response = client_for(desk["alice"]).post(
        CUSTOMERS, {"name": "X", "identities": [{"kind": "email", "value": "not-an-address"}]}, format="json"
    )
    assert_error(response, 400, "invalid", "not an email address")


def test_list_filter_retrieve_and_update_customers(desk, client_for):
    CustomerFactory(name="Zed")
    client = client_for(desk["alice"])
    assert {c["name"] for c in client.get(CUSTOMERS).json()["results"]} >= {"Ana Souza", "Zed"}
    found = client.get(CUSTOMERS, {"email": "ANA@example.com"}).json()["results"]
    assert [c["id"] for c in found] == [desk["ana"].pk]
    url = f"{CUSTOMERS}{desk['ana'].pk}/"
    assert client.get(url).json()["identities"][0]["value"] == "ana@example.com"
    response = client.patch(url, {"name": "Ana S.", "attributes": {"vip": True}}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Ana S."
    assert Event.objects.filter(object_type="customer", object_id=desk["ana"].pk, field="name").exists()


def test_add_an_identity_to_a_customer(desk, client_for):
    response = client_for(desk["alice"]).post(
        f"{CUSTOMERS}{desk['ana'].pk}/identities/", {"kind": "whatsapp", "value": "+1 555 000 2222"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert Identity.objects.get(kind="whatsapp").customer == desk["ana"]


def test_light_agents_see_customers_but_cannot_create_or_change_them(desk, client_for):
    client = client_for(desk["lena"])
    assert client.get(CUSTOMERS).status_code == 200
    assert_error(
        client.post(CUSTOMERS, {"name": "x"}, format="json"), 403, "permission_denied", "cannot create customers"
    )
    assert_error(client.patch(f"{CUSTOMERS}{desk['ana'].pk}/", {"name": "x"}, format="json"), 403, "permission_denied")


def test_customer_users_cannot_list_customers(desk, client_for):
    assert_error(client_for(make_customer_user(desk["ana"], "ana")).get(CUSTOMERS), 403, "permission_denied")


def test_the_customer_list_costs_the_same_queries_for_5_or_30(desk, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(desk["alice"])
    for _ in range(2):  # and the desk's three
        IdentityFactory(customer=CustomerFactory())
    client.get(CUSTOMERS)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(CUSTOMERS).json()["results"]) == 5
    for _ in range(25):
        IdentityFactory(customer=CustomerFactory(organization=OrganizationFactory()))
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(CUSTOMERS).json()["results"]) == 30
    assert len(many) == len(few)


@pytest.mark.parametrize(
    "url, payload, model",
    [
        ("/api/v1/organizations/", {"name": "Globex", "tier": "premium"}, Organization),
        ("/api/v1/teams/", {"name": "Returns", "description": "RMA"}, Team),
    ],
)
def test_managers_create_and_change_organizations_and_teams_and_agents_only_read(desk, client_for, url, payload, model):
    agent = client_for(desk["alice"])
    assert agent.get(url).status_code == 200
    assert_error(agent.post(url, payload, format="json"), 403, "permission_denied", "Your role cannot create")
    manager = client_for(desk["mona"])
    created = manager.post(url, payload, format="json")
    assert created.status_code == 201, created.content
    obj = model.objects.get(pk=created.json()["id"])
    changed = manager.patch(f"{url}{obj.pk}/", {"name": "Renamed"}, format="json")
    assert changed.status_code == 200 and changed.json()["name"] == "Renamed"
    assert agent.get(f"{url}{obj.pk}/").json()["name"] == "Renamed"
    assert_error(agent.patch(f"{url}{obj.pk}/", {"name": "Nope"}, format="json"), 403, "permission_denied")
    assert Event.objects.filter(object_type=model._meta.model_name, object_id=obj.pk, verb="created").exists()
    assert_error(manager.post(url, {"name": "Renamed"}, format="json"), 400, "invalid")


def test_tags_are_listed_and_created_lower_case(desk, client_for):
    client = client_for(desk["alice"])
    created = client.post("/api/v1/tags/", {"name": "Urgent-Fix", "color": "#ff0000"}, format="json")
    assert created.status_code == 201, created.content
    assert Tag.objects.get(pk=created.json()["id"]).name == "urgent-fix"
    assert [t["name"] for t in client.get("/api/v1/tags/").json()["results"]] == ["urgent-fix"]
    assert_error(client_for(desk["lena"]).post("/api/v1/tags/", {"name": "x"}, format="json"), 403, "permission_denied")


def test_agents_are_listed_read_only_with_role_and_teams(desk, client_for):
    client = client_for(desk["alice"])
    agents = {a["username"]: a for a in client.get("/api/v1/agents/").json()["results"]}
    assert set(agents) == {"alice", "lena", "mona"}
    assert agents["alice"]["role"] == "agent" and agents["alice"]["teams"] == [desk["billing"].pk]
    assert agents["lena"]["role"] == "light_agent"
    assert client.get(f"/api/v1/agents/{desk['mona'].pk}/").json()["role"] == "manager"
    assert_error(client.post("/api/v1/agents/", {}, format="json"), 405, "method_not_allowed")
    assert_error(client_for(make_customer_user(desk["ana"], "ana")).get("/api/v1/agents/"), 403, "permission_denied")
