"""Hostile input on filters and search: SQL metacharacters, NUL bytes, odd Unicode and 100 kB
strings give a clean 200 or 400 (never a 500), change nothing and leak nothing."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apitokens.services import api_token_create, scopes_for
from kb.models import Category
from kb.services import article_create, article_publish
from tests.factories import CustomerFactory, IdentityFactory, TeamFactory, TicketFactory, make_agent
from tickets.models import Customer, Ticket
from tickets.services.events import Actor

pytestmark = pytest.mark.django_db

PAYLOADS = [
    "' OR '1'='1",
    "'; DROP TABLE tickets_ticket; --",
    "1) OR pg_sleep(3) IS NULL --",
    '%" UNION SELECT username, password FROM auth_user --',
    "%_%\\",
    "nul\x00byte",
    "\ud800",  # a lone surrogate: not encodable as UTF-8
    "𝕏" * 50,
    "[]{}()*+?.^$|",
    "A" * 100_000,
]

# (client kind, path, query parameters that get the payload)
TARGETS = [
    ("page", "/agent/", ["q"]),
    ("page", "/agent/", ["sort", "queue", "view"]),
    ("page", "/agent/", ["after", "before"]),
    ("page", "/agent/", ["status", "priority", "team", "tag", "assignee", "created_after"]),
    ("page", "/agent/customers/", ["q"]),
    ("page", "/agent/customers/", ["offset"]),
    ("page", "/agent/organizations/", ["q"]),
    ("page", "/help/search/", ["q"]),
    ("page", "/help/", ["lang"]),
    ("api", "/api/v1/tickets/", ["status", "tag"]),
    ("api", "/api/v1/tickets/", ["team", "requester", "created_after", "updated_since"]),
    ("api", "/api/v1/tickets/", ["ordering"]),
    ("api", "/api/v1/tickets/", ["cursor"]),
    ("api", "/api/v1/customers/", ["name", "email", "phone"]),
    ("api", "/api/v1/kb/articles/", ["tag", "status", "language"]),
    ("api", "/api/v1/macros/", ["name"]),
    ("api", "/api/v1/surveys/", ["ticket", "channel", "sent_after"]),
]


def _query(params: list[str], payload: str) -> str:
    return "&".join(f"{name}={quote(payload, safe='', errors='surrogatepass')}" for name in params)


@pytest.fixture
def desk():
    billing = TeamFactory(name="Billing")
    agent = make_agent("alice", role="admin", teams=[billing])
    ana = CustomerFactory(name="Ana Souza")
    IdentityFactory(customer=ana, value="ana@example.com")
    TicketFactory(team=billing, requester=ana, subject="Invoice is wrong")
    category = Category.objects.create(name="Billing", slug="billing")
    article = article_create(
        slug="refunds", category=category, title="Refunds", body_markdown="How", actor=Actor.agent(agent)
    )
    article_publish(article=article, actor=Actor.agent(agent))
    page = Client()
    page.force_login(agent)
    api = APIClient()
    _token, key = api_token_create(user=agent, scopes=scopes_for("read"))
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return {"page": page, "api": api}


@pytest.mark.parametrize(("kind", "path", "params"), TARGETS, ids=[f"{p}?{','.join(q)}" for _k, p, q in TARGETS])
def test_hostile_filter_values_get_a_clean_answer(desk, kind, path, params):
    failures = []
    for payload in PAYLOADS:
        started = time.monotonic()
        response = desk[kind].get(f"{path}?{_query(params, payload)}")
        elapsed = time.monotonic() - started
        # A cursor that is not one of ours is "Invalid cursor", a 404 in the API's error format.
        allowed = (200, 400, 404) if params == ["cursor"] else (200, 400)
        if response.status_code not in allowed:
            failures.append((payload[:40], response.status_code))
        if elapsed > 2.5:
            failures.append((payload[:40], f"took {elapsed:.1f}s"))
        if kind == "api" and response.status_code in (400, 404):
            assert set(response.json()) == {"error"}, response.content[:300]
    assert failures == []
    # Nothing was dropped or rewritten by what was sent.
    assert Ticket.objects.filter(subject="Invoice is wrong").count() == 1
    assert Customer.objects.filter(name="Ana Souza").count() == 1


def test_sql_in_the_search_box_matches_text_not_rows(desk):
    """A quote-laden search finds nothing instead of everything."""
    response = desk["page"].get("/agent/?queue=all&q=" + quote("' OR '1'='1"))
    assert response.status_code == 200
    assert b"Invoice is wrong" not in response.content
    plain = desk["page"].get("/agent/?queue=all&q=Invoice")
    assert b"Invoice is wrong" in plain.content
