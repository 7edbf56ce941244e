"""The permission matrix: every role against every page, API endpoint, attachment download and
the agent WebSocket, checked against one declared policy table.

The world: two teams (Billing, Tech); a Billing ticket from Ana with a public attachment and an
internal note carrying its own file; a Tech ticket; one published and one internal KB article.
Roles: anonymous, Ana (the requester, a portal user), Bob (another portal customer), a light
agent in Billing, an agent in Tech only ("outsider"), an agent in Billing, a manager, an admin.

Status classes: "ok" (200), "login" (302 to a sign-in page), "401", "403", "404".
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.db import connections
from django.test import Client
from rest_framework.test import APIClient

from apitokens.services import api_token_create, scopes_for
from helpdesk.routing import websocket_urlpatterns
from kb.models import ArticleVisibility, Category
from kb.services import article_create, article_publish
from tests.factories import (
    CustomerFactory,
    IdentityFactory,
    OrganizationFactory,
    TeamFactory,
    TicketFactory,
    make_agent,
    make_customer_user,
)
from tickets.inbound import InboundAttachment, InboundMessage, InboundSender
from tickets.models import Attachment
from tickets.services.events import Actor
from tickets.services.ingest import _store_attachment, message_ingest
from tickets.services.tickets import ticket_reply

ROLES = ["anonymous", "customer", "other_customer", "light_agent", "outsider", "agent", "manager", "admin"]
AGENTS = ["light_agent", "outsider", "agent", "manager", "admin"]
CUSTOMERS = ["customer", "other_customer"]
SECRET_NOTE = "Internal: refund approved by finance"
# Text that must never appear in any page or API answer the role is allowed to open.
_NOTE = [SECRET_NOTE.encode(), b"finance.txt", b"agents only"]
_INTERNAL_KB = [b"refund-overrides", b"Refund overrides"]
_BILLING_TICKET = [b"Invoice is wrong", SECRET_NOTE.encode(), b"finance.txt"]
HIDDEN_FROM: dict[str, list[bytes]] = {
    "anonymous": _NOTE + _INTERNAL_KB + _BILLING_TICKET,
    "customer": _NOTE + _INTERNAL_KB,
    "other_customer": _NOTE + _INTERNAL_KB + _BILLING_TICKET,
    "outsider": _BILLING_TICKET,
}


def row(
    anonymous: str,
    customer: str,
    other_customer: str,
    light_agent: str,
    outsider: str,
    agent: str,
    manager: str,
    admin: str,
) -> dict[str, str]:
    return dict(
        zip(ROLES, [anonymous, customer, other_customer, light_agent, outsider, agent, manager, admin], strict=True)
    )


# Agent-only pages: anonymous is sent to sign in, portal customers are refused.
STAFF_PAGE = row("login", "403", "403", "ok", "ok", "ok", "ok", "ok")
# Pages about the Billing ticket: agents outside the team get a 404 (no hint it exists).
TEAM_TICKET = row("login", "403", "403", "ok", "404", "ok", "ok", "ok")
MANAGERS = row("login", "403", "403", "403", "403", "403", "ok", "ok")
PUBLIC = row("ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok")
PORTAL_OWN = row("login", "ok", "404", "403", "403", "403", "403", "403")
# API: no token is a 401; portal customers see only their own tickets.
API_STAFF = row("401", "403", "403", "ok", "ok", "ok", "ok", "ok")
API_TEAM_TICKET = row("401", "ok", "404", "ok", "404", "ok", "ok", "ok")
API_TICKET_LIST = row("401", "ok", "ok", "ok", "ok", "ok", "ok", "ok")
API_MANAGERS = row("401", "403", "403", "403", "403", "403", "ok", "ok")

# The one declared policy table: target name -> expected class per role.
POLICY: dict[str, dict[str, str]] = {
    # Agent workspace
    "agent:home": STAFF_PAGE,
    "agent:ticket": TEAM_TICKET,
    "agent:ticket_live": TEAM_TICKET,
    "agent:attachment": TEAM_TICKET,
    "agent:attachment_internal": TEAM_TICKET,
    "agent:ticket_other_team": row("login", "403", "403", "404", "ok", "404", "ok", "ok"),
    "agent:customers": STAFF_PAGE,
    "agent:customer": STAFF_PAGE,
    "agent:organizations": STAFF_PAGE,
    "agent:organization": STAFF_PAGE,
    # Opening a merge without choosing the other customer sends the agent back to the profile.
    "agent:customer_merge": row("login", "403", "403", "403", "redirect", "redirect", "redirect", "redirect"),
    "automation:notifications": STAFF_PAGE,
    "routing:offers": STAFF_PAGE,
    # Dashboards
    "metrics:dashboard": MANAGERS,
    "metrics:tickets": MANAGERS,
    "metrics:qa": MANAGERS,
    "metrics:qa_review": MANAGERS,
    "metrics:touchpoints": MANAGERS,
    "metrics:forecast": MANAGERS,
    # Accounts
    "accounts:audit_log": row("login", "403", "403", "403", "403", "403", "403", "ok"),
    "accounts:two_factor_setup": STAFF_PAGE,
    "admin:index": row("login", "login", "login", "login", "login", "login", "ok", "ok"),
    # Customer portal and help centre
    "portal:tickets": row("login", "ok", "ok", "403", "403", "403", "403", "403"),
    "portal:ticket": PORTAL_OWN,
    "portal:attachment": PORTAL_OWN,
    "portal:attachment_internal": row("login", "404", "404", "403", "403", "403", "403", "403"),
    "kb:home": PUBLIC,
    "kb:search": PUBLIC,
    "kb:article": PUBLIC,
    "kb:article_internal": row("404", "404", "404", "ok", "ok", "ok", "ok", "ok"),
    # API (token authentication)
    "api:ticket-list": API_TICKET_LIST,
    "api:ticket-detail": API_TEAM_TICKET,
    "api:ticket-message-list": API_TEAM_TICKET,
    "api:ticket-event-list": row("401", "403", "403", "ok", "404", "ok", "ok", "ok"),
    "api:ticket-attachment-list": API_TEAM_TICKET,
    "api:ticket-attachment-download": API_TEAM_TICKET,
    "api:ticket-attachment-download-internal": row("401", "404", "404", "ok", "404", "ok", "ok", "ok"),
    "api:customer-list": API_STAFF,
    "api:customer-detail": API_STAFF,
    "api:organization-list": API_STAFF,
    "api:organization-detail": API_STAFF,
    "api:team-list": API_STAFF,
    "api:team-detail": API_STAFF,
    "api:tag-list": API_STAFF,
    "api:agent-list": API_STAFF,
    "api:agent-detail": API_STAFF,
    "api:macro-list": API_STAFF,
    "api:sla-policy-list": API_STAFF,
    "api:business-calendar-list": API_STAFF,
    # Everyone with a token lists articles; customers only published public ones (checked below).
    "api:kb-article-list": API_TICKET_LIST,
    "api:kb-category-list": API_TICKET_LIST,
    "api:kb-version-list": API_STAFF,
    "kb:staff_analytics": STAFF_PAGE,
    "kb:staff_health": STAFF_PAGE,
    # Every agent reads surveys of tickets they see, and reads rules (to explain what happened).
    "api:survey-list": API_STAFF,
    "api:metrics-list": API_MANAGERS,
    "api:trigger-list": API_STAFF,
    "api:automation-list": API_STAFF,
    "api:rule-webhook-target-list": API_MANAGERS,
    "api:routing-rule-list": API_STAFF,
    "api:team-assignment-list": API_STAFF,
    "webhooks:subscription-list": API_MANAGERS,
    # WebSocket: may the role connect, and may it watch the Billing ticket
    "ws:connect": row("403", "403", "403", "ok", "ok", "ok", "ok", "ok"),
    "ws:watch": row("403", "403", "403", "ok", "404", "ok", "ok", "ok"),
}


def build_world() -> dict[str, Any]:
    billing, tech = TeamFactory(name="Billing"), TeamFactory(name="Tech")
    org = OrganizationFactory(name="Acme")
    ana = CustomerFactory(name="Ana Souza", organization=org)
    IdentityFactory(customer=ana, value="ana@example.com")
    bob = CustomerFactory(name="Bob Stone")
    IdentityFactory(customer=bob, value="bob@example.com")
    users: dict[str, Any] = {
        "anonymous": None,
        "customer": make_customer_user(ana, "ana"),
        "other_customer": make_customer_user(bob, "bob"),
        "light_agent": make_agent("lena", role="light_agent", teams=[billing]),
        "outsider": make_agent("otto", teams=[tech]),
        "agent": make_agent("alice", teams=[billing]),
        "manager": make_agent("mona", role="manager"),
        "admin": make_agent("adam", role="admin"),
    }
    ticket = TicketFactory(team=billing, requester=ana, subject="Invoice is wrong")
    other = TicketFactory(team=tech, requester=bob, subject="Login broken")
    message_ingest(
        inbound=InboundMessage(
            channel="email",
            sender=InboundSender("email", "ana@example.com"),
            subject=ticket.subject,
            body_text="See the invoice",
            external_id="<matrix-1@example.com>",
            ticket_number=ticket.number,
            attachments=(InboundAttachment("invoice.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"0" * 32),),
        )
    )
    note = ticket_reply(
        ticket=ticket,
        author=users["agent"],
        body_text=SECRET_NOTE,
        is_internal=True,
        actor=Actor.agent(users["agent"]),
    )
    _store_attachment(note, InboundAttachment("finance.txt", "text/plain", b"agents only"))
    category = Category.objects.create(name="Billing", slug="billing")
    public = article_create(
        slug="refunds",
        category=category,
        title="Refunds",
        body_markdown="How refunds work",
        actor=Actor.agent(users["admin"]),
    )
    article_publish(article=public, actor=Actor.agent(users["admin"]))
    internal = article_create(
        slug="refund-overrides",
        category=category,
        title="Refund overrides",
        body_markdown="Staff only",
        visibility=ArticleVisibility.INTERNAL,
        actor=Actor.agent(users["admin"]),
    )
    article_publish(article=internal, actor=Actor.agent(users["admin"]))
    return {
        "users": users,
        "ticket": ticket,
        "other": other,
        "ana": ana,
        "org": org,
        "billing": billing,
        "public_file": Attachment.objects.get(filename="invoice.png"),
        "internal_file": Attachment.objects.get(filename="finance.txt"),
    }


def targets(w: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Target name -> (kind, URL); kind is "page" (session) or "api" (token)."""
    n, a, i = w["ticket"].number, w["public_file"].pk, w["internal_file"].pk
    agent_id = w["users"]["agent"].pk
    api = "/api/v1"
    return {
        "agent:home": ("page", "/agent/"),
        "agent:ticket": ("page", f"/agent/tickets/{n}/"),
        "agent:ticket_live": ("page", f"/agent/tickets/{n}/live/"),
        "agent:attachment": ("page", f"/agent/tickets/{n}/attachments/{a}/"),
        "agent:attachment_internal": ("page", f"/agent/tickets/{n}/attachments/{i}/"),
        "agent:ticket_other_team": ("page", f"/agent/tickets/{w['other'].number}/"),
        "agent:customers": ("page", "/agent/customers/"),
        "agent:customer": ("page", f"/agent/customers/{w['ana'].pk}/"),
        "agent:organizations": ("page", "/agent/organizations/"),
        "agent:organization": ("page", f"/agent/organizations/{w['org'].pk}/"),
        "agent:customer_merge": ("page", f"/agent/customers/{w['ana'].pk}/merge/"),
        "automation:notifications": ("page", "/agent/notifications/"),
        "routing:offers": ("page", "/agent/routing/offers/"),
        "metrics:dashboard": ("page", "/dashboard/"),
        "metrics:tickets": ("page", "/dashboard/tickets/"),
        "metrics:qa": ("page", "/dashboard/qa/"),
        "metrics:qa_review": ("page", f"/dashboard/qa/{n}/"),
        "metrics:touchpoints": ("page", "/dashboard/touchpoints/"),
        "metrics:forecast": ("page", "/dashboard/forecast/"),
        "accounts:audit_log": ("page", "/accounts/audit/"),
        "accounts:two_factor_setup": ("page", "/accounts/2fa/"),
        "admin:index": ("page", "/admin/"),
        "portal:tickets": ("page", "/support/tickets/"),
        "portal:ticket": ("page", f"/support/tickets/{n}/"),
        "portal:attachment": ("page", f"/support/tickets/{n}/attachments/{a}/"),
        "portal:attachment_internal": ("page", f"/support/tickets/{n}/attachments/{i}/"),
        "kb:home": ("page", "/help/"),
        "kb:search": ("page", "/help/search/?q=refund"),
        "kb:article": ("page", "/help/a/refunds/"),
        "kb:article_internal": ("page", "/help/a/refund-overrides/"),
        "api:ticket-list": ("api", f"{api}/tickets/"),
        "api:ticket-detail": ("api", f"{api}/tickets/{n}/"),
        "api:ticket-message-list": ("api", f"{api}/tickets/{n}/messages/"),
        "api:ticket-event-list": ("api", f"{api}/tickets/{n}/events/"),
        "api:ticket-attachment-list": ("api", f"{api}/tickets/{n}/attachments/"),
        "api:ticket-attachment-download": ("api", f"{api}/tickets/{n}/attachments/{a}/download/"),
        "api:ticket-attachment-download-internal": ("api", f"{api}/tickets/{n}/attachments/{i}/download/"),
        "api:customer-list": ("api", f"{api}/customers/"),
        "api:customer-detail": ("api", f"{api}/customers/{w['ana'].pk}/"),
        "api:organization-list": ("api", f"{api}/organizations/"),
        "api:organization-detail": ("api", f"{api}/organizations/{w['org'].pk}/"),
        "api:team-list": ("api", f"{api}/teams/"),
        "api:team-detail": ("api", f"{api}/teams/{w['billing'].pk}/"),
        "api:tag-list": ("api", f"{api}/tags/"),
        "api:agent-list": ("api", f"{api}/agents/"),
        "api:agent-detail": ("api", f"{api}/agents/{agent_id}/"),
        "api:macro-list": ("api", f"{api}/macros/"),
        "api:sla-policy-list": ("api", f"{api}/sla-policies/"),
        "api:business-calendar-list": ("api", f"{api}/business-hours/"),
        "api:kb-article-list": ("api", f"{api}/kb/articles/"),
        "api:kb-category-list": ("api", f"{api}/kb/categories/"),
        "api:kb-version-list": ("api", f"{api}/kb/versions/"),
        "kb:staff_analytics": ("page", "/help/staff/analytics/"),
        "kb:staff_health": ("page", "/help/staff/health/"),
        "api:survey-list": ("api", f"{api}/surveys/"),
        "api:metrics-list": ("api", f"{api}/metrics/"),
        "api:trigger-list": ("api", f"{api}/triggers/"),
        "api:automation-list": ("api", f"{api}/automations/"),
        "api:rule-webhook-target-list": ("api", f"{api}/rule-webhook-targets/"),
        "api:routing-rule-list": ("api", f"{api}/routing-rules/"),
        "api:team-assignment-list": ("api", f"{api}/team-assignments/"),
        "webhooks:subscription-list": ("api", f"{api}/webhooks/subscriptions/"),
    }


def classify(response: Any) -> str:
    status = response.status_code
    if status == 302:
        location = response["Location"]
        return "login" if "login" in location else "redirect"
    if status == 200:
        return "ok"
    return str(status)


def body_of(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def test_every_api_route_of_the_router_is_in_the_policy():
    """A new API route cannot ship without a row in the table (lists at least)."""
    from tickets.api.urls import router

    bases = {basename for _prefix, _viewset, basename in router.registry}
    covered = {name.split(":")[1].rsplit("-list", 1)[0] for name in POLICY if name.endswith("-list")}
    assert bases - covered == set()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
def test_role_gets_exactly_what_the_policy_table_declares(role, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    world = build_world()
    user = world["users"][role]
    page_client = Client()
    api_client = APIClient()
    if user is not None:
        page_client.force_login(user)
        _token, key = api_token_create(user=user, scopes=scopes_for("write"))
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    observed: dict[str, str] = {}
    leaks: list[tuple[str, str]] = []
    for name, (kind, url) in targets(world).items():
        response = (page_client if kind == "page" else api_client).get(url)
        observed[name] = classify(response)
        if observed[name] == "ok":
            content = body_of(response)
            if name == "agent:ticket":
                # The secrets above are really on the ticket page, so their absence elsewhere means something.
                assert SECRET_NOTE.encode() in content and b"finance.txt" in content
            for secret in HIDDEN_FROM.get(role, ()):
                if secret in content:
                    leaks.append((name, secret.decode()))
            if name.startswith(("agent:attachment", "portal:attachment", "api:ticket-attachment-download")):
                assert response["Content-Disposition"].split(";")[0] in {"attachment", "inline"}
                assert response["X-Content-Type-Options"] == "nosniff"

    # On a thread of its own: the package's browser keeps an event loop running on this one.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        ws = pool.submit(asyncio.run, _websocket(user, world["ticket"].number)).result(timeout=60)
    connections.close_all()
    observed["ws:connect"], observed["ws:watch"] = ws

    expected = {name: table[role] for name, table in POLICY.items()}
    mismatches = {
        name: (expected[name], observed.get(name)) for name in expected if expected[name] != observed.get(name)
    }
    assert mismatches == {}, f"{role}: (expected, observed) {mismatches}"
    assert leaks == [], f"{role} saw what it must not: {leaks}"


class _WithUser:
    def __init__(self, app: Any, user: Any) -> None:
        self.app, self.user = app, user

    async def __call__(self, scope, receive, send):
        return await self.app({**scope, "user": self.user or AnonymousUser()}, receive, send)


async def _websocket(user: Any, number: int) -> tuple[str, str]:
    communicator = WebsocketCommunicator(_WithUser(URLRouter(websocket_urlpatterns), user), "/ws/agent/events/")
    connected, _code = await communicator.connect()
    if not connected:
        return "403", "403"
    await communicator.send_json_to({"watch": number})
    answer = await communicator.receive_json_from(timeout=5)
    await communicator.disconnect()
    await sync_to_async(connections.close_all)()
    return "ok", ("ok" if answer == {"watching": number} else "404")
