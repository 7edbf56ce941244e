"""Fixtures for triggers and automations: agents, tickets made through the services (so
their audit events exist) and rules made through the rule service."""

from __future__ import annotations

from typing import Any

import pytest

# The browser fixtures of tests/e2e, scoped to this package (the browser stops when it ends).
from tests.e2e.conftest import _async_unsafe_allowed, browser, page, screenshot  # noqa: E402, F401
from tests.factories import CustomerFactory, TeamFactory, make_agent
from tickets.automation.models import Automation, Trigger
from tickets.automation.services import rule_create
from tickets.inbound import InboundMessage, InboundSender
from tickets.models import Ticket
from tickets.services.events import Actor
from tickets.services.ingest import message_ingest
from tickets.services.tickets import ticket_create


@pytest.fixture
def agent() -> Any:
    return make_agent("alice", role="agent")


@pytest.fixture
def manager() -> Any:
    return make_agent("mona", role="manager")


@pytest.fixture
def team(manager: Any) -> Any:
    return TeamFactory(name="Billing", lead=manager)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs the after-commit work (the trigger run task) at the end."""

    def enter() -> Any:
        return django_capture_on_commit_callbacks(execute=True)

    return enter


@pytest.fixture
def make_ticket(agent: Any, committed):
    def make(subject: str = "Invoice is wrong", **fields: Any) -> Ticket:
        requester = fields.pop("requester", None) or CustomerFactory(name="Ana Souza")
        with committed():
            ticket = ticket_create(
                requester=requester,
                subject=subject,
                channel=fields.pop("channel", "email"),
                actor=Actor.agent(agent),
                **fields,
            )
        ticket.refresh_from_db()
        return ticket

    return make


@pytest.fixture
def customer_writes(committed):
    counter = {"n": 0}

    def write(body: str, *, email: str = "ana@example.com", subject: str = "Help", ticket: Ticket | None = None):
        counter["n"] += 1
        if ticket is not None:
            subject = f"Re: [#{ticket.number}] {ticket.subject}"
        with committed():
            result = message_ingest(
                inbound=InboundMessage(
                    channel="email",
                    sender=InboundSender(kind="email", value=email, name="Ana Souza"),
                    subject=subject,
                    body_text=body,
                    external_id=f"<m{counter['n']}-{email}>",
                    ticket_number=ticket.number if ticket is not None else None,
                )
            )
        result.ticket.refresh_from_db()
        return result.ticket

    return write


@pytest.fixture
def make_trigger():
    def make(name: str, conditions: Any, actions: list, **fields: Any) -> Trigger:
        return rule_create(
            model=Trigger, actor=Actor.system(), name=name, conditions=conditions, actions=actions, **fields
        )

    return make


@pytest.fixture
def make_automation():
    def make(name: str, conditions: Any, actions: list, **fields: Any) -> Automation:
        return rule_create(
            model=Automation, actor=Actor.system(), name=name, conditions=conditions, actions=actions, **fields
        )

    return make
