"""The permission matrix for writes: every role against every write action (agent workspace
forms, portal, REST API, admin), checked against one declared policy table.

The world and the roles are those of test_permission_matrix.py (two teams, Ana's Billing
ticket, a Tech ticket, KB articles...), plus a second Billing ticket of Ana's (to merge), a
third customer (to merge into Ana) and a macro (to delete). Each action runs in a savepoint
that is rolled back afterwards, so every action meets the same world.

The outcome of an action is "done" when its effect is in the database (the reply stored, the
status changed...), whatever the answer's status; otherwise the answer's class: "login",
"401", "403", "404", "400", or "refused" (the page came back, or sent the user back, with an
error message and nothing changed). A write that answered 2xx/302 but changed nothing, or a
refusal that changed something anyway, can therefore not pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from apitokens.services import api_token_create, scopes_for
from kb.models import Article
from tests.factories import CustomerFactory, IdentityFactory, TicketFactory
from tickets.models import Attachment, Customer, Macro, Message, Tag, Team, Ticket

from .test_permission_matrix import ROLES, build_world, row

# Actions on the Billing ticket: the outsider (an agent of Tech only) gets 404 (no hint the
# ticket exists), portal customers 403. Light agents add internal notes (with files) only.
TEAM_NOTE = row("login", "403", "403", "done", "404", "done", "done", "done")
TEAM_WORK = row("login", "403", "403", "refused", "404", "done", "done", "done")
API_TEAM_NOTE = row("401", "403", "403", "done", "404", "done", "done", "done")
API_TEAM_WORK = row("401", "403", "403", "403", "404", "done", "done", "done")
# PATCH on a ticket: a customer who is not the requester does not learn it exists.
API_TICKET_CHANGE = row("401", "403", "404", "403", "404", "done", "done", "done")
# Customers are one directory for every agent (not per team); light agents only read it.
CUSTOMER_WRITE = row("login", "403", "403", "403", "done", "done", "done", "done")
API_AGENT_WRITE = row("401", "403", "403", "403", "done", "done", "done", "done")
API_MANAGERS = row("401", "403", "403", "403", "403", "403", "done", "done")
PORTAL_OWN = row("login", "done", "404", "403", "403", "403", "403", "403")

# The one declared write policy: action -> expected outcome per role.
WRITE_POLICY: dict[str, dict[str, str]] = {
    # Agent workspace
    "web:reply": TEAM_WORK,
    "web:note": TEAM_NOTE,
    "web:status": TEAM_WORK,
    "web:upload": TEAM_NOTE,  # a note with a file
    "web:assign": TEAM_WORK,
    # Bulk: tickets the user may not change are reported as not changed, nothing else happens.
    "web:bulk": row("login", "403", "403", "refused", "refused", "done", "done", "done"),
    "web:merge": TEAM_WORK,
    "web:customer_edit": CUSTOMER_WRITE,
    "web:customer_merge": CUSTOMER_WRITE,
    # Customer portal
    "portal:reply": PORTAL_OWN,
    "portal:solve": PORTAL_OWN,
    # Django admin: managers and admins (staff); everyone else is sent to sign in.
    "admin:tag_add": row("login", "login", "login", "login", "login", "login", "done", "done"),
    # REST API
    "api:ticket-create": API_AGENT_WRITE,
    "api:ticket-patch": API_TICKET_CHANGE,
    "api:ticket-status": API_TICKET_CHANGE,
    "api:ticket-assign": API_TICKET_CHANGE,
    "api:reply": API_TEAM_WORK,
    "api:note": API_TEAM_NOTE,
    "api:upload": API_TEAM_NOTE,
    "api:bulk": row("401", "403", "403", "403", "refused", "done", "done", "done"),
    "api:customer-patch": API_AGENT_WRITE,
    "api:customer-merge": API_AGENT_WRITE,
    "api:tag-create": API_AGENT_WRITE,
    "api:team-create": API_MANAGERS,
    "api:macro-delete": API_MANAGERS,
    # KB editing needs kb.change_article, which the manager and admin roles hold.
    "api:kb-article-patch": API_MANAGERS,
}


@dataclass(frozen=True)
class Action:
    kind: str  # "page" (session) or "api" (token)
    method: str
    url: str
    data: Any
    done: Callable[[], bool]
    format: str | None = None  # API body format ("json", "multipart")


def world_extras(w: dict[str, Any]) -> None:
    billing = w["billing"]
    w["spare"] = TicketFactory(team=billing, requester=w["ana"], subject="Second invoice question")
    carl = CustomerFactory(name="Carl Duplicate")
    IdentityFactory(customer=carl, value="carl@example.com")
    w["carl"] = carl
    w["macro"] = Macro.objects.create(name="Refund", body="Your refund is on its way.")
    w["article"] = Article.objects.get(slug="refunds")


def actions(w: dict[str, Any]) -> dict[str, Action]:
    t, spare, ana, carl = w["ticket"], w["spare"], w["ana"], w["carl"]
    n = t.number
    agent_id = w["users"]["agent"].pk
    api = "/api/v1"

    def ticket() -> Ticket:
        return Ticket.objects.get(pk=t.pk)

    def message(text: str, **filters: Any) -> Callable[[], bool]:
        return lambda: Message.objects.filter(ticket=t, body_text__contains=text, **filters).exists()

    def upload(name: str) -> Callable[[], bool]:
        return lambda: Attachment.objects.filter(filename=name).exists()

    reply = {"reply-intent": "send", "reply-status": ""}
    return {
        # --- Agent workspace (forms) ---
        "web:reply": Action(
            "page",
            "post",
            f"/agent/tickets/{n}/reply/",
            {**reply, "reply-kind": "public", "reply-body": "Public matrix reply", "reply-channel": "email"},
            message("Public matrix reply", is_internal=False),
        ),
        "web:note": Action(
            "page",
            "post",
            f"/agent/tickets/{n}/reply/",
            {**reply, "reply-kind": "internal", "reply-body": "Matrix note"},
            message("Matrix note", is_internal=True),
        ),
        "web:status": Action(
            "page",
            "post",
            f"/agent/tickets/{n}/reply/",
            {**reply, "reply-kind": "internal", "reply-body": "", "reply-status": "pending"},
            lambda: ticket().status == "pending",
        ),
        "web:upload": Action(
            "page",
            "post",
            f"/agent/tickets/{n}/reply/",
            {
                **reply,
                "reply-kind": "internal",
                "reply-body": "With a file",
                "reply-attachments": SimpleUploadedFile("web-upload.txt", b"hello", content_type="text/plain"),
            },
            upload("web-upload.txt"),
        ),
        "web:assign": Action(
            "page",
            "post",
            f"/agent/tickets/{n}/fields/",
            {
                "fields-priority": t.priority,
                "fields-type": t.type,
                "fields-team": w["billing"].pk,
                "fields-assignee": agent_id,
                "fields-tags": "",
            },
            lambda: ticket().assignee_id == agent_id,
        ),
        "web:bulk": Action(
            "page",
            "post",
            "/agent/tickets/bulk/",
            {"action": "priority", "tickets": [n], "priority": "urgent"},
            lambda: ticket().priority == "urgent",
        ),
        "web:merge": Action(
            "page",
            "post",
            f"/agent/tickets/{spare.number}/merge/",
            {"merge-target": n},
            lambda: Ticket.objects.get(pk=spare.pk).merged_into_id == t.pk,
        ),
        "web:customer_edit": Action(
            "page",
            "post",
            f"/agent/customers/{ana.pk}/edit/",
            {
                "name": "Ana Renamed",
                "language": "en",
                "preferred_channel": "",
                "notes": "",
                "organization": w["org"].pk,
            },
            lambda: Customer.objects.get(pk=ana.pk).name == "Ana Renamed",
        ),
        "web:customer_merge": Action(
            "page",
            "post",
            f"/agent/customers/{ana.pk}/merge/confirm/",
            {"source": carl.pk},
            lambda: not Customer.objects.filter(pk=carl.pk).exists(),
        ),
        # --- Customer portal ---
        "portal:reply": Action(
            "page",
            "post",
            f"/support/tickets/{n}/",
            {
                "body": "Portal matrix reply",
                "attachments": SimpleUploadedFile("portal.txt", b"hi", content_type="text/plain"),
            },
            message("Portal matrix reply"),
        ),
        "portal:solve": Action("page", "post", f"/support/tickets/{n}/solve/", {}, lambda: ticket().status == "solved"),
        # --- Admin ---
        "admin:tag_add": Action(
            "page",
            "post",
            "/admin/tickets/tag/add/",
            {"name": "admin-matrix", "color": "#123456"},
            lambda: Tag.objects.filter(name="admin-matrix").exists(),
        ),
        # --- REST API ---
        "api:ticket-create": Action(
            "api",
            "post",
            f"{api}/tickets/",
            {"requester": ana.pk, "subject": "API matrix ticket", "team": w["billing"].pk},
            lambda: Ticket.objects.filter(subject="API matrix ticket").exists(),
            "json",
        ),
        "api:ticket-patch": Action(
            "api", "patch", f"{api}/tickets/{n}/", {"priority": "urgent"}, lambda: ticket().priority == "urgent", "json"
        ),
        "api:ticket-status": Action(
            "api", "patch", f"{api}/tickets/{n}/", {"status": "pending"}, lambda: ticket().status == "pending", "json"
        ),
        "api:ticket-assign": Action(
            "api",
            "patch",
            f"{api}/tickets/{n}/",
            {"assignee": agent_id},
            lambda: ticket().assignee_id == agent_id,
            "json",
        ),
        "api:reply": Action(
            "api",
            "post",
            f"{api}/tickets/{n}/messages/",
            {"body_text": "API public reply", "is_internal": False},
            message("API public reply", is_internal=False),
            "json",
        ),
        "api:note": Action(
            "api",
            "post",
            f"{api}/tickets/{n}/messages/",
            {"body_text": "API note", "is_internal": True},
            message("API note", is_internal=True),
            "json",
        ),
        "api:upload": Action(
            "api",
            "post",
            f"{api}/tickets/{n}/messages/",
            {
                "body_text": "API file",
                "is_internal": "true",
                "attachments": [SimpleUploadedFile("api-upload.txt", b"hello", content_type="text/plain")],
            },
            upload("api-upload.txt"),
            "multipart",
        ),
        "api:bulk": Action(
            "api",
            "post",
            f"{api}/tickets/bulk/",
            {"tickets": [n], "changes": {"priority": "urgent"}},
            lambda: ticket().priority == "urgent",
            "json",
        ),
        "api:customer-patch": Action(
            "api",
            "patch",
            f"{api}/customers/{ana.pk}/",
            {"name": "Ana API"},
            lambda: Customer.objects.get(pk=ana.pk).name == "Ana API",
            "json",
        ),
        "api:customer-merge": Action(
            "api",
            "post",
            f"{api}/customers/{ana.pk}/merge/",
            {"source": carl.pk},
            lambda: not Customer.objects.filter(pk=carl.pk).exists(),
            "json",
        ),
        "api:tag-create": Action(
            "api",
            "post",
            f"{api}/tags/",
            {"name": "api-matrix"},
            lambda: Tag.objects.filter(name="api-matrix").exists(),
            "json",
        ),
        "api:team-create": Action(
            "api",
            "post",
            f"{api}/teams/",
            {"name": "API Matrix Team"},
            lambda: Team.objects.filter(name="API Matrix Team").exists(),
            "json",
        ),
        "api:macro-delete": Action(
            "api",
            "delete",
            f"{api}/macros/{w['macro'].pk}/",
            None,
            lambda: not Macro.objects.filter(pk=w["macro"].pk).exists(),
        ),
        "api:kb-article-patch": Action(
            "api",
            "patch",
            f"{api}/kb/articles/{w['article'].pk}/",
            {"title": "Refunds, edited"},
            lambda: Article.objects.get(pk=w["article"].pk).translations.filter(title="Refunds, edited").exists(),
            "json",
        ),
    }


def classify_write(response: Any) -> str:
    status = response.status_code
    if status == 302:
        return "login" if "login" in response["Location"] else "refused"
    if status in (200, 201, 204):
        return "refused"  # answered as if fine, yet nothing changed
    return str(status)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_role_may_write_exactly_what_the_write_policy_declares(role, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    world = build_world()
    world_extras(world)
    user = world["users"][role]
    page_client, api_client = Client(), APIClient()
    if user is not None:
        page_client.force_login(user)
        _token, key = api_token_create(user=user, scopes=scopes_for("write"))
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    observed: dict[str, str] = {}
    for name, action in actions(world).items():
        assert not action.done(), f"{name}: the effect is there before the action"
        with transaction.atomic():
            if action.kind == "page":
                response = getattr(page_client, action.method)(action.url, action.data or {})
            else:
                kwargs = {"format": action.format} if action.format else {}
                response = getattr(api_client, action.method)(action.url, action.data, **kwargs)
            observed[name] = "done" if action.done() else classify_write(response)
            if observed[name] == "done":
                assert response.status_code < 400, (name, response.status_code)
            transaction.set_rollback(True)

    expected = {name: table[role] for name, table in WRITE_POLICY.items()}
    assert set(expected) == set(observed), "every action has a row, every row an action"
    mismatches = {name: (expected[name], observed[name]) for name in expected if expected[name] != observed[name]}
    assert mismatches == {}, f"{role}: (expected, observed) {mismatches}"
