"""Fixtures for the agent workspace tests: two teams, agents of each role, a signed-in client."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories import CustomerFactory, OrganizationFactory, TeamFactory, TicketFactory, make_agent


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def desk():
    billing, tech = TeamFactory(name="Billing"), TeamFactory(name="Tech")
    alice = make_agent("alice", teams=[billing])
    manager = make_agent("maya", role="manager", teams=[billing])
    acme = OrganizationFactory(name="Acme")
    ana = CustomerFactory(name="Ana Souza", organization=acme)
    return {"billing": billing, "tech": tech, "alice": alice, "manager": manager, "acme": acme, "ana": ana}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed(response) -> list[int]:
    assert response.status_code == 200
    return [int(n) for n in re.findall(r'name="tickets" value="(\d+)"', response.content.decode())]


def flashes(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


__all__ = ["TicketFactory", "client_for", "flashes", "listed"]
