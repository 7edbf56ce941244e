"""`?expand=` on tickets (no N+1) and POST /api/v1/tickets/bulk/."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import assert_error
from tests.factories import IdentityFactory, OrganizationFactory, TicketFactory, make_agent
from tickets.models import Event, Tag, Ticket, TicketStatus

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"
BULK = "/api/v1/tickets/bulk/"
EXPAND = {"expand": "requester,assignee,team,organization", "page_size": 100}


def _ticket_with_everything(desk, **kwargs):
    org = OrganizationFactory()
    ticket = TicketFactory(team=desk["billing"], assignee=desk["alice"], organization=org, **kwargs)
    IdentityFactory(customer=ticket.requester)
    return ticket


def test_expand_gives_the_related_objects_in_full(desk, client_for):
    ticket = _ticket_with_everything(desk)
    client = client_for(desk["mona"])
    summary = client.get(f"{TICKETS}{ticket.number}/").json()
    assert set(summary["requester"]) == {"id", "name"}
    full = client.get(f"{TICKETS}{ticket.number}/", {"expand": "requester,assignee,team,organization"}).json()
    assert full["requester"]["identities"][0]["value"] == ticket.requester.identities.get().value
    assert full["assignee"]["role"] == "agent" and full["assignee"]["teams"] == [desk["billing"].pk]
    assert full["team"]["description"] == "" and full["team"]["name"] == "Billing"
    assert full["organization"]["tier"] == "standard"
    listed = {t["number"]: t for t in client.get(TICKETS, EXPAND).json()["results"]}
    assert listed[ticket.number]["assignee"]["username"] == "alice"
    assert listed[desk["tickets"]["no_team"].number]["team"] is None


def test_expanding_costs_the_same_queries_for_5_or_30_tickets(desk, client_for):
    client = client_for(desk["mona"])
    for _ in range(2):
        _ticket_with_everything(desk)
    client.get(TICKETS, EXPAND)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(TICKETS, EXPAND).json()["results"]) == 5
    for index in range(25):
        _ticket_with_everything(desk, subject=f"more {index}")
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(TICKETS, EXPAND).json()["results"]) == 30
    assert len(many) == len(few), [q["sql"][:120] for q in many.captured_queries]


def test_an_unknown_expansion_is_a_400_naming_the_choices(desk, client_for):
    response = client_for(desk["alice"]).get(TICKETS, {"expand": "requester,secrets"})
    assert_error(response, 400, "invalid", "Cannot expand secrets; choose from requester, assignee, team, organization")


def test_bulk_changes_each_ticket_and_reports_per_ticket(desk, client_for):
    t = desk["tickets"]
    closed = TicketFactory(team=desk["billing"], status=TicketStatus.CLOSED)
    t["billing"].tags.add(Tag.objects.create(name="old"))
    response = client_for(desk["alice"]).post(
        BULK,
        {
            "tickets": [t["billing"].number, t["no_team"].number, closed.number, t["tech"].number],
            "changes": {"status": "pending", "priority": "high", "tags_add": ["Batch"], "tags_remove": ["old"]},
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["succeeded"], body["failed"]) == (2, 2)
    outcome = {r["number"]: r for r in body["results"]}
    assert outcome[t["billing"].number]["ok"] and outcome[t["billing"].number]["ticket"]["status"] == "pending"
    assert outcome[t["billing"].number]["ticket"]["tags"] == ["batch"]
    assert outcome[closed.number]["error"]["code"] == "invalid_transition"
    assert outcome[t["tech"].number]["error"] == {
        "code": "not_found",
        "message": f"No ticket #{t['tech'].number} that you can see.",
    }
    assert Ticket.objects.get(pk=t["no_team"].pk).priority == "high"
    assert Ticket.objects.get(pk=t["tech"].pk).priority == "normal"
    # the closed ticket's whole change was rolled back, not just its status
    assert Ticket.objects.get(pk=closed.pk).priority == "normal"
    assert Event.objects.filter(ticket=t["billing"], field="status", new_value="pending", actor_kind="api").exists()


def test_bulk_assign_and_unassign(desk, client_for):
    t = desk["tickets"]
    client = client_for(desk["mona"])
    numbers = [t["billing"].number, t["tech"].number]
    response = client.post(BULK, {"tickets": numbers, "changes": {"assignee": desk["alice"].pk}}, format="json")
    assert response.json()["succeeded"] == 2
    assert set(Ticket.objects.filter(number__in=numbers).values_list("assignee", flat=True)) == {desk["alice"].pk}
    response = client.post(BULK, {"tickets": numbers, "changes": {"assignee": desk["lena"].pk}}, format="json")
    assert response.json()["failed"] == 2  # a light agent cannot work tickets
    assert "cannot work tickets" in response.json()["results"][0]["error"]["message"]
    client.post(BULK, {"tickets": numbers, "changes": {"assignee": None}}, format="json")
    assert not Ticket.objects.filter(number__in=numbers, assignee__isnull=False).exists()


def test_bulk_is_capped_with_a_clear_400(desk, client_for, settings):
    settings.API_BULK_MAX_TICKETS = 3
    response = client_for(desk["mona"]).post(
        BULK, {"tickets": [1, 2, 3, 4], "changes": {"priority": "low"}}, format="json"
    )
    assert_error(response, 400, "too_many_tickets", "At most 3 tickets per request; 4 were sent.")


def test_bulk_needs_changes_and_tickets(desk, client_for):
    client = client_for(desk["mona"])
    assert_error(client.post(BULK, {"tickets": [], "changes": {"priority": "low"}}, format="json"), 400, "invalid")
    response = client.post(BULK, {"tickets": [desk["tickets"]["billing"].number], "changes": {}}, format="json")
    assert_error(response, 400, "invalid", "Say what to change")


def test_light_agents_read_only_tokens_and_customers_cannot_bulk_change(desk, client_for):
    payload = {"tickets": [desk["tickets"]["billing"].number], "changes": {"priority": "low"}}
    assert_error(client_for(desk["lena"]).post(BULK, payload, format="json"), 403, "permission_denied")
    assert_error(client_for(desk["alice"], "read").post(BULK, payload, format="json"), 403, "permission_denied")
    admin = make_agent("root", role="admin")
    assert client_for(admin).post(BULK, payload, format="json").json()["succeeded"] == 1
