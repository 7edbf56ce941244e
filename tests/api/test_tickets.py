"""Tickets through the API: the same visibility and permissions as the agent workspace."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.api.conftest import assert_error
from tests.factories import CustomerFactory, IdentityFactory, TicketFactory, make_customer_user
from tickets.models import Event, Message, Tag, Ticket
from tickets.services.events import Actor
from tickets.services.tickets import ticket_change_status

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"


def _numbers(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {t["number"] for t in response.json()["results"]}


def test_an_agent_lists_the_tickets_they_may_see(desk, client_for):
    t = desk["tickets"]
    assert _numbers(client_for(desk["alice"]).get(TICKETS)) == {t["billing"].number, t["no_team"].number}
    assert len(_numbers(client_for(desk["mona"]).get(TICKETS))) == 3


def test_another_teams_ticket_is_a_404_everywhere(desk, client_for):
    client = client_for(desk["alice"])
    number = desk["tickets"]["tech"].number
    for url in (f"{TICKETS}{number}/", f"{TICKETS}{number}/messages/", f"{TICKETS}{number}/events/"):
        assert_error(client.get(url), 404, "not_found")
    assert_error(client.patch(f"{TICKETS}{number}/", {"priority": "high"}, format="json"), 404, "not_found")
    assert_error(
        client.post(f"{TICKETS}{number}/messages/", {"body_text": "x", "is_internal": True}, format="json"),
        404,
        "not_found",
    )


def test_a_ticket_by_number_has_its_people_and_tags(desk, client_for):
    ticket = desk["tickets"]["billing"]
    ticket.tags.add(Tag.objects.create(name="vip"))
    body = client_for(desk["alice"]).get(f"{TICKETS}{ticket.number}/").json()
    assert body["number"] == ticket.number and body["subject"] == "Invoice is wrong"
    assert body["requester"] == {"id": desk["ana"].pk, "name": "Ana Souza"}
    assert body["team"] == {"id": desk["billing"].pk, "name": "Billing"}
    assert body["tags"] == ["vip"] and body["status"] == "new"


def test_a_customer_user_sees_only_their_own_tickets_and_no_notes(desk, client_for):
    ana_user = make_customer_user(desk["ana"], "ana")
    mine = desk["tickets"]["billing"]
    Message.objects.create(ticket=mine, direction="inbound", author_kind="customer", channel="web", body_text="hello")
    Message.objects.create(
        ticket=mine, direction="outbound", author_kind="agent", channel="internal", body_text="secret", is_internal=True
    )
    client = client_for(ana_user)
    assert _numbers(client.get(TICKETS)) == {mine.number}
    assert_error(client.get(f"{TICKETS}{desk['tickets']['no_team'].number}/"), 404, "not_found")
    messages = client.get(f"{TICKETS}{mine.number}/messages/").json()["results"]
    assert [m["body_text"] for m in messages] == ["hello"]
    assert_error(client.get(f"{TICKETS}{mine.number}/events/"), 403, "permission_denied")
    assert_error(
        client.patch(f"{TICKETS}{mine.number}/", {"priority": "urgent"}, format="json"), 403, "permission_denied"
    )


def test_filters_by_status_priority_team_and_tag(desk, client_for):
    t = desk["tickets"]
    Ticket.objects.filter(pk=t["no_team"].pk).update(priority="urgent", status="pending")
    t["billing"].tags.add(Tag.objects.create(name="refund"))
    client = client_for(desk["mona"])
    assert _numbers(client.get(TICKETS, {"priority": "urgent"})) == {t["no_team"].number}
    assert _numbers(client.get(TICKETS, {"status": "pending"})) == {t["no_team"].number}
    assert _numbers(client.get(TICKETS, {"status": ["new", "pending"]})) == {x.number for x in t.values()}
    assert _numbers(client.get(TICKETS, {"status": "unsolved"})) == {x.number for x in t.values()}
    assert _numbers(client.get(TICKETS, {"team": desk["tech"].pk})) == {t["tech"].number}
    assert _numbers(client.get(TICKETS, {"tag": "Refund"})) == {t["billing"].number}
    assert _numbers(client.get(TICKETS, {"requester": desk["ana"].pk})) == {t["billing"].number}
    assert_error(client.get(TICKETS, {"priority": "whenever"}), 400, "invalid")


def test_updated_since_returns_only_what_changed_for_incremental_export(desk, client_for):
    t = desk["tickets"]
    long_ago = timezone.now() - timedelta(days=3)
    Ticket.objects.filter(pk__in=[t["tech"].pk, t["no_team"].pk]).update(updated_at=long_ago)
    since = (timezone.now() - timedelta(days=1)).isoformat()
    client = client_for(desk["mona"])
    assert _numbers(client.get(TICKETS, {"updated_since": since, "ordering": "updated_at"})) == {t["billing"].number}
    assert_error(client.get(TICKETS, {"updated_since": "yesterday"}), 400, "invalid", "updated_since")


def test_cursor_pagination_walks_every_ticket_once(desk, client_for):
    for _ in range(7):
        TicketFactory()
    client = client_for(desk["mona"])
    seen: list[int] = []
    url = f"{TICKETS}?page_size=3&ordering=-created_at"
    pages = 0
    while url:
        body = client.get(url).json()
        assert set(body) == {"next", "previous", "results"}
        assert len(body["results"]) <= 3
        seen += [t["number"] for t in body["results"]]
        url = body["next"]
        pages += 1
    assert pages == 4
    assert len(seen) == len(set(seen)) == Ticket.objects.count() == 10


def test_the_ticket_list_costs_the_same_queries_for_5_or_30_tickets(desk, client_for):
    client = client_for(desk["alice"])
    for _ in range(3):
        TicketFactory(team=desk["billing"]).tags.add(Tag.objects.get_or_create(name="x")[0])
    client.get(TICKETS)  # the first request also notes the token's last use
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(TICKETS).json()["results"]) == 5
    for _ in range(25):
        TicketFactory(team=desk["billing"], assignee=desk["alice"]).tags.add(Tag.objects.get_or_create(name="y")[0])
    with CaptureQueriesContext(connection) as many:
        response = client.get(TICKETS)
    assert len(response.json()["results"]) == 30
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


# --- create ------------------------------------------------------------------------------------


def test_create_a_ticket_for_a_new_customer_with_their_first_message(desk, client_for):
    response = client_for(desk["alice"]).post(
        TICKETS,
        {
            "requester_identity": {"kind": "email", "value": "Zoe <ZOE@example.com>", "name": "Zoe"},
            "subject": "Where is my parcel?",
            "comment": "Ordered two weeks ago.",
            "priority": "high",
            "team": desk["billing"].pk,
            "tags": ["Shipping"],
            "assignee": desk["alice"].pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"].endswith(f"/api/v1/tickets/{body['number']}/")
    assert body["channel"] == "api" and body["priority"] == "high" and body["tags"] == ["shipping"]
    assert body["requester"]["name"] == "Zoe" and body["assignee"]["username"] == "alice"
    ticket = Ticket.objects.get(number=body["number"])
    message = ticket.messages.get()
    assert (message.direction, message.author_kind, message.channel) == ("inbound", "customer", "api")
    assert message.body_text == "Ordered two weeks ago." and message.author_customer == ticket.requester
    created = Event.objects.get(ticket=ticket, verb="created")
    assert created.actor_kind == "api" and created.actor_user == desk["alice"]


def test_create_for_an_existing_customer_without_a_comment(desk, client_for):
    response = client_for(desk["alice"]).post(
        TICKETS, {"requester": desk["ana"].pk, "subject": "Callback"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert Ticket.objects.get(number=response.json()["number"]).messages.count() == 0


def test_a_comment_needs_a_requester_with_an_identity_and_nothing_is_created_otherwise(desk, client_for):
    nobody = CustomerFactory(name="No Identity")
    before = Ticket.objects.count()
    response = client_for(desk["alice"]).post(
        TICKETS, {"requester": nobody.pk, "subject": "x", "comment": "hello"}, format="json"
    )
    error = assert_error(response, 400, "invalid", "no identity")
    assert "comment" in error["fields"]
    assert Ticket.objects.count() == before


def test_create_input_errors_name_their_fields(desk, client_for):
    error = assert_error(client_for(desk["alice"]).post(TICKETS, {"priority": "asap"}, format="json"), 400, "invalid")
    assert set(error["fields"]) == {"subject", "priority"}
    error = assert_error(client_for(desk["alice"]).post(TICKETS, {"subject": "x"}, format="json"), 400, "invalid")
    assert "requester" in error["fields"]


def test_light_agents_cannot_create_tickets(desk, client_for):
    response = client_for(desk["lena"]).post(TICKETS, {"requester": desk["ana"].pk, "subject": "x"}, format="json")
    assert_error(response, 403, "permission_denied", "cannot create tickets")


def test_the_same_idempotency_key_twice_creates_one_ticket(desk, client_for):
    client = client_for(desk["alice"])
    payload = {"requester_identity": {"kind": "email", "value": "kim@example.com"}, "subject": "Once", "comment": "hi"}
    first = client.post(TICKETS, payload, format="json", HTTP_IDEMPOTENCY_KEY="order-77")
    second = client.post(TICKETS, payload, format="json", HTTP_IDEMPOTENCY_KEY="order-77")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() and second["Idempotent-Replayed"] == "true"
    assert Ticket.objects.filter(subject="Once").count() == 1
    assert Message.objects.filter(body_text="hi").count() == 1
    # The same key for a different request is refused; a new key creates a new ticket.
    changed = client.post(TICKETS, {**payload, "subject": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY="order-77")
    assert_error(changed, 422, "idempotency_key_reused")
    assert client.post(TICKETS, payload, format="json", HTTP_IDEMPOTENCY_KEY="order-78").status_code == 201
    assert Ticket.objects.filter(subject="Once").count() == 2


def test_a_failed_request_does_not_use_up_its_idempotency_key(desk, client_for):
    client = client_for(desk["alice"])
    assert client.post(TICKETS, {"subject": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code == 400
    ok = client.post(TICKETS, {"subject": "x", "requester": desk["ana"].pk}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert ok.status_code == 201


def test_idempotency_keys_belong_to_one_token(desk, client_for):
    payload = {"requester": desk["ana"].pk, "subject": "Per token"}
    for client in (client_for(desk["alice"]), client_for(desk["alice"])):
        assert client.post(TICKETS, payload, format="json", HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    assert Ticket.objects.filter(subject="Per token").count() == 2


# --- update ------------------------------------------------------------------------------------


def test_patch_changes_fields_status_and_tags_through_the_services(desk, client_for):
    ticket = desk["tickets"]["billing"]
    response = client_for(desk["alice"]).patch(
        f"{TICKETS}{ticket.number}/",
        {"status": "pending", "priority": "urgent", "tags": ["a", "b"], "assignee": desk["alice"].pk},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["priority"], body["tags"]) == ("pending", "urgent", ["a", "b"])
    assert body["assignee"]["id"] == desk["alice"].pk
    fields = set(Event.objects.filter(ticket=ticket, actor_kind="api").values_list("field", flat=True))
    assert fields == {"status", "priority", "tags", "assignee"}


def test_a_status_move_the_workflow_forbids_is_a_clear_400_and_changes_nothing(desk, client_for):
    ticket = desk["tickets"]["billing"]
    ticket_change_status(ticket=ticket, status="solved", actor=Actor.system())
    ticket_change_status(ticket=ticket, status="closed", actor=Actor.system())
    response = client_for(desk["alice"]).patch(
        f"{TICKETS}{ticket.number}/", {"status": "pending", "priority": "low"}, format="json"
    )
    error = assert_error(response, 400, "invalid_transition", "cannot go from Closed to Pending")
    assert "status" in error["fields"]
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("closed", "normal")


def test_assigning_someone_who_is_not_an_agent_is_refused(desk, client_for):
    customer_user = make_customer_user(desk["ana"], "ana")
    response = client_for(desk["alice"]).patch(
        f"{TICKETS}{desk['tickets']['billing'].number}/", {"assignee": customer_user.pk}, format="json"
    )
    assert_error(response, 400, "invalid", "not an active agent")


def test_light_agents_cannot_change_tickets(desk, client_for):
    response = client_for(desk["lena"]).patch(
        f"{TICKETS}{desk['tickets']['billing'].number}/", {"priority": "high"}, format="json"
    )
    assert_error(response, 403, "permission_denied", "cannot change tickets")


def test_put_and_delete_are_not_offered(desk, client_for):
    client = client_for(desk["mona"])
    number = desk["tickets"]["billing"].number
    assert_error(client.delete(f"{TICKETS}{number}/"), 405, "method_not_allowed")
    assert_error(client.put(f"{TICKETS}{number}/", {}, format="json"), 405, "method_not_allowed")


# --- messages and events -----------------------------------------------------------------------


def test_an_agent_replies_and_adds_notes(desk, client_for):
    ticket = desk["tickets"]["billing"]
    IdentityFactory(customer=desk["ana"], kind="phone", value="+15550001111")
    client = client_for(desk["alice"])
    reply = client.post(f"{TICKETS}{ticket.number}/messages/", {"body_text": "We are on it."}, format="json")
    assert reply.status_code == 201, reply.content
    assert reply.json()["direction"] == "outbound" and reply.json()["delivery_status"] == "queued"
    assert reply.json()["author_user"]["username"] == "alice"
    note = client.post(f"{TICKETS}{ticket.number}/messages/", {"body_text": "psst", "is_internal": True}, format="json")
    assert note.status_code == 201 and note.json()["is_internal"] is True
    listed = client.get(f"{TICKETS}{ticket.number}/messages/").json()["results"]
    assert [m["body_text"] for m in listed] == ["We are on it.", "psst"]
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.first_responded_at is not None


def test_light_agents_can_add_notes_but_not_reply_publicly(desk, client_for):
    ticket = desk["tickets"]["billing"]
    client = client_for(desk["lena"])
    refused = client.post(f"{TICKETS}{ticket.number}/messages/", {"body_text": "Hello customer"}, format="json")
    assert_error(refused, 403, "permission_denied", "cannot reply to customers")
    assert not ticket.messages.exists()
    note = client.post(f"{TICKETS}{ticket.number}/messages/", {"body_text": "fyi", "is_internal": True}, format="json")
    assert note.status_code == 201


def test_an_empty_message_is_a_400(desk, client_for):
    response = client_for(desk["alice"]).post(
        f"{TICKETS}{desk['tickets']['billing'].number}/messages/", {"body_text": "  "}, format="json"
    )
    assert "body_text" in assert_error(response, 400, "invalid")["fields"]


def test_events_show_the_audit_trail_to_agents(desk, client_for):
    ticket = desk["tickets"]["billing"]
    client = client_for(desk["alice"])
    client.patch(f"{TICKETS}{ticket.number}/", {"priority": "high"}, format="json")
    events = client.get(f"{TICKETS}{ticket.number}/events/").json()["results"]
    change = next(e for e in events if e["field"] == "priority")
    assert (change["old_value"], change["new_value"], change["actor_kind"]) == ("normal", "high", "api")
    assert change["actor_user"]["username"] == "alice"
