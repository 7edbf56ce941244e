"""Merging two customers through POST /api/v1/customers/{id}/merge/."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_error
from tests.factories import CustomerFactory, IdentityFactory, TicketFactory, make_customer_user
from tickets.models import Customer, Event, Identity, Message, Ticket

pytestmark = pytest.mark.django_db


def _merge(client, target, source):
    return client.post(f"/api/v1/customers/{target.pk}/merge/", {"source": source.pk}, format="json")


@pytest.fixture
def twins(desk):
    """Ana (email) and "Ana WhatsApp", the same person, with a ticket, a message and a follow."""
    ana = desk["ana"]
    other = CustomerFactory(name="Ana WhatsApp", attributes={"plan": "gold"})
    IdentityFactory(customer=other, kind="whatsapp", value="+5511912345678")
    ticket = TicketFactory(requester=other, team=desk["billing"], subject="Order via WhatsApp")
    Message.objects.create(
        ticket=ticket,
        direction="inbound",
        author_kind="customer",
        author_customer=other,
        channel="whatsapp",
        body_text="oi",
    )
    followed = desk["tickets"]["billing"]
    followed.followers.add(other)
    both = TicketFactory(requester=CustomerFactory(), team=None)
    both.followers.add(other, ana)
    return {"ana": ana, "other": other, "ticket": ticket, "followed": followed, "both": both}


def test_a_merge_moves_everything_to_the_kept_customer_and_records_it_on_both(desk, client_for, twins):
    ana, other = twins["ana"], twins["other"]
    response = _merge(client_for(desk["alice"]), ana, other)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == ana.pk
    assert sorted((i["kind"], i["value"]) for i in body["identities"]) == [
        ("email", "ana@example.com"),
        ("whatsapp", "+5511912345678"),
    ]
    assert not Customer.objects.filter(pk=other.pk).exists()
    assert Ticket.objects.get(pk=twins["ticket"].pk).requester == ana
    assert Message.objects.get(ticket=twins["ticket"]).author_customer == ana
    assert list(twins["followed"].followers.all()) == [ana]
    assert list(twins["both"].followers.all()) == [ana]  # not twice
    assert Customer.objects.get(pk=ana.pk).attributes == {"plan": "gold"}
    events = Event.objects.filter(object_type="customer", verb="customer_merged")
    assert {e.object_id for e in events} == {ana.pk, other.pk}
    kept = events.get(object_id=ana.pk)
    assert kept.data["merged_from"] == other.pk and kept.data["tickets"] == [twins["ticket"].number]
    assert kept.actor_kind == "api" and kept.actor_user == desk["alice"]


def test_a_customer_cannot_be_merged_into_itself(desk, client_for):
    assert_error(_merge(client_for(desk["alice"]), desk["ana"], desk["ana"]), 400, "merge_into_itself")


def test_two_portal_logins_are_a_conflict_and_nothing_changes(desk, client_for, twins):
    make_customer_user(twins["ana"], "ana")
    make_customer_user(twins["other"], "ana-wa")
    error = assert_error(_merge(client_for(desk["alice"]), twins["ana"], twins["other"]), 400, "portal_user_conflict")
    assert "(ana-wa and ana)" in error["message"] and "source" in error["fields"]
    assert Customer.objects.filter(pk=twins["other"].pk).exists()
    assert Identity.objects.get(kind="whatsapp").customer == twins["other"]
    assert not Event.objects.filter(verb="customer_merged").exists()


def test_the_merged_customers_portal_login_comes_along(desk, client_for, twins):
    login = make_customer_user(twins["other"], "ana-wa")
    assert _merge(client_for(desk["alice"]), twins["ana"], twins["other"]).status_code == 200
    assert Customer.objects.get(pk=twins["ana"].pk).user == login
    # and that login now sees the moved ticket
    numbers = {t["number"] for t in client_for(login).get("/api/v1/tickets/").json()["results"]}
    assert twins["ticket"].number in numbers


def test_light_agents_and_customers_cannot_merge_and_an_unknown_source_is_a_400(desk, client_for, twins):
    assert_error(_merge(client_for(desk["lena"]), twins["ana"], twins["other"]), 403, "permission_denied")
    portal = client_for(make_customer_user(twins["ana"], "ana"))
    assert_error(_merge(portal, twins["ana"], twins["other"]), 403, "permission_denied")
    response = client_for(desk["alice"]).post(
        f"/api/v1/customers/{twins['ana'].pk}/merge/", {"source": 999999}, format="json"
    )
    assert_error(response, 400, "invalid", "source")
    assert Customer.objects.filter(pk=twins["other"].pk).exists()
