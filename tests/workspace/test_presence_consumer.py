"""Presence and typing over the real Redis channel layer: two agents on one ticket see each
other, typing reaches the other only, leaving is announced; an agent who may not see the ticket
cannot watch it. Live pushes of changes made through the services reach the ticket's watchers."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections

from helpdesk.routing import websocket_urlpatterns
from tests.factories import TeamFactory, TicketFactory, make_agent
from tickets.services.events import Actor
from tickets.services.tickets import ticket_change_status

pytestmark = [pytest.mark.django_db(transaction=True)]


class WithUser:
    def __init__(self, app, user):
        self.app, self.user = app, user

    async def __call__(self, scope, receive, send):
        return await self.app({**scope, "user": self.user}, receive, send)


def connect(user) -> WebsocketCommunicator:
    return WebsocketCommunicator(WithUser(URLRouter(websocket_urlpatterns), user), "/ws/agent/events/")


async def next_of_kind(communicator, kind, timeout=5):
    """The next message of this kind (others, e.g. live pushes, are skipped)."""
    while True:
        message = await communicator.receive_json_from(timeout=timeout)
        if message.get("kind") == kind:
            return message


def run(scenario):
    asyncio.run(scenario())
    asyncio.run(sync_to_async(connections.close_all)())


def test_the_channel_layer_is_redis():
    assert "Redis" in type(get_channel_layer()).__name__, settings.CHANNEL_LAYERS


def test_two_agents_see_each_other_and_who_is_typing():
    async def scenario():
        team = await sync_to_async(TeamFactory)(name="Billing")
        maria = await sync_to_async(make_agent)("maria", teams=[team])
        joao = await sync_to_async(make_agent)("joao", teams=[team])
        ticket = await sync_to_async(TicketFactory)(team=team)
        first, second = connect(maria), connect(joao)
        assert (await first.connect())[0] and (await second.connect())[0]

        await first.send_json_to({"watch": ticket.number})
        assert await first.receive_json_from(timeout=5) == {"watching": ticket.number}
        await second.send_json_to({"watch": ticket.number})
        assert await second.receive_json_from(timeout=5) == {"watching": ticket.number}

        seen_by_first = await next_of_kind(first, "presence")
        assert seen_by_first == {
            "kind": "presence",
            "ticket": ticket.number,
            "viewers": [{"id": joao.pk, "name": "joao"}],
        }
        seen_by_second = await next_of_kind(second, "presence")
        assert seen_by_second["viewers"] == [{"id": maria.pk, "name": "maria"}]

        await second.send_json_to({"typing": ticket.number})
        typing = await next_of_kind(first, "typing")
        assert typing == {"kind": "typing", "ticket": ticket.number, "agent": {"id": joao.pk, "name": "joao"}}
        assert await second.receive_nothing(timeout=0.5)  # nobody is told about their own typing

        await second.disconnect()
        assert (await next_of_kind(first, "presence"))["viewers"] == []
        await first.disconnect()

    run(scenario)


def test_an_agent_cannot_watch_or_type_on_a_ticket_they_cannot_see():
    async def scenario():
        billing, tech = await sync_to_async(TeamFactory)(name="Billing"), await sync_to_async(TeamFactory)(name="Tech")
        outsider = await sync_to_async(make_agent)("tess", teams=[tech])
        ticket = await sync_to_async(TicketFactory)(team=billing)
        communicator = connect(outsider)
        await communicator.connect()
        await communicator.send_json_to({"watch": ticket.number})
        assert await communicator.receive_json_from(timeout=5) == {
            "error": f"No ticket #{ticket.number} that you can see."
        }
        await communicator.send_json_to({"typing": ticket.number})
        assert await communicator.receive_json_from(timeout=5) == {"error": f"Watch ticket #{ticket.number} first."}
        await communicator.disconnect()

    run(scenario)


def test_a_status_change_is_pushed_to_the_ticket_and_its_audience():
    async def scenario():
        team = await sync_to_async(TeamFactory)(name="Billing")
        maria = await sync_to_async(make_agent)("maria", teams=[team])
        ticket = await sync_to_async(TicketFactory)(team=team, status="new")
        communicator = connect(maria)
        await communicator.connect()
        await sync_to_async(ticket_change_status)(ticket=ticket, status="open", actor=Actor.system())
        change = await next_of_kind(communicator, "change")
        assert change == {"kind": "change", "ticket": ticket.number, "verb": "changed", "field": "status"}
        await communicator.disconnect()

    run(scenario)
