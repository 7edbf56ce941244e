"""Fixtures for the REST API tests: a small help desk with two teams and one agent of each
role, and API clients authenticated by real tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from apitokens.services import api_token_create, scopes_for
from tests.factories import CustomerFactory, IdentityFactory, TeamFactory, TicketFactory, make_agent


def token_for(user: Any, scope: str = "write", **kwargs: Any) -> str:
    _token, key = api_token_create(user=user, scopes=scopes_for(scope), **kwargs)
    return key


@pytest.fixture
def client_for() -> Callable[..., APIClient]:
    """client_for(user, scope="write") -> an APIClient sending that user's new token."""

    def make(user: Any, scope: str = "write") -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user, scope)}")
        return client

    return make


@pytest.fixture
def desk() -> dict[str, Any]:
    billing, tech = TeamFactory(name="Billing"), TeamFactory(name="Tech")
    alice = make_agent("alice", teams=[billing])
    lena = make_agent("lena", role="light_agent", teams=[billing])
    mona = make_agent("mona", role="manager")
    ana = CustomerFactory(name="Ana Souza")
    IdentityFactory(customer=ana, value="ana@example.com")
    tickets = {
        "billing": TicketFactory(team=billing, requester=ana, subject="Invoice is wrong"),
        "tech": TicketFactory(team=tech, subject="Login broken"),
        "no_team": TicketFactory(team=None, subject="General question"),
    }
    return {
        "billing": billing,
        "tech": tech,
        "alice": alice,
        "lena": lena,
        "mona": mona,
        "ana": ana,
        "tickets": tickets,
    }


def assert_error(response: Any, status: int, code: str, message_part: str = "") -> dict[str, Any]:
    """The one error format: {"error": {"code", "message", "fields"}}."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code, body
    assert message_part in body["error"]["message"], body
    return body["error"]
