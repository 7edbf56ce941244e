"""Agents get live updates over WebSocket; nobody else can listen in."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.db import connections

from helpdesk.routing import websocket_urlpatterns
from tests.factories import CustomerFactory, TeamFactory, TicketFactory, make_agent, make_customer_user
from tickets.inbound import InboundMessage, InboundSender
from tickets.services.ingest import message_ingest

pytestmark = [pytest.mark.django_db(transaction=True)]


class WithUser:
    """Puts a user in the scope, as the session middleware does for a signed-in browser."""

    def __init__(self, app, user):
        self.app, self.user = app, user

    async def __call__(self, scope, receive, send):
        return await self.app({**scope, "user": self.user}, receive, send)


def sync_close():
    """Close the connections the async helpers' thread opened, so the test DB can be dropped."""

    async def close():
        await sync_to_async(connections.close_all)()

    asyncio.run(close())


def connect(user):
    app = WithUser(URLRouter(websocket_urlpatterns), user)
    return WebsocketCommunicator(app, "/ws/agent/events/")


def test_an_agent_sees_a_new_message_arrive_and_can_watch_a_ticket():
    async def scenario():
        agent = await sync_to_async(make_agent)("alice")
        communicator = connect(agent)
        connected, _ = await communicator.connect()
        assert connected

        result = await sync_to_async(message_ingest)(
            inbound=InboundMessage(
                channel="sms", sender=InboundSender("phone", "+15550199"), body_text="Hi", external_id="SMlive"
            )
        )
        # After commit the follow-up task runs (in-process in this test) and pushes the event.
        event = await communicator.receive_json_from(timeout=5)
        assert event == {
            "kind": "message",
            "ticket": result.ticket.number,
            "message": result.message.pk,
            "channel": "sms",
        }

        await communicator.send_json_to({"watch": result.ticket.number})
        assert await communicator.receive_json_from(timeout=5) == {"watching": result.ticket.number}
        await communicator.disconnect()

    asyncio.run(scenario())
    sync_close()


def test_live_events_reach_only_agents_who_may_see_the_ticket():
    async def scenario():
        billing, tech = await sync_to_async(TeamFactory)(name="Billing"), await sync_to_async(TeamFactory)(name="Tech")
        billing_agent = await sync_to_async(make_agent)("bea", teams=[billing])
        manager = await sync_to_async(make_agent)("max", role="manager")
        listeners = {"bea": connect(billing_agent), "max": connect(manager)}
        for communicator in listeners.values():
            assert (await communicator.connect())[0]

        def tech_ticket_message():
            result = message_ingest(
                inbound=InboundMessage(
                    channel="sms", sender=InboundSender("phone", "+15550177"), body_text="Hi", external_id="SMtech"
                )
            )
            type(result.ticket).objects.filter(pk=result.ticket.pk).update(team=tech)
            from tickets.tasks import message_ingested_task

            message_ingested_task(result.message.pk)  # the after-commit task, now that the ticket is Tech's
            return result

        result = await sync_to_async(tech_ticket_message)()
        # The manager sees every team: the first push (before the team was set) and this one.
        events = [await listeners["max"].receive_json_from(timeout=5) for _ in range(2)]
        assert {e["ticket"] for e in events} == {result.ticket.number}
        # Billing's agent got only the push from before the ticket went to Tech (unteamed then).
        assert (await listeners["bea"].receive_json_from(timeout=5))["ticket"] == result.ticket.number
        assert await listeners["bea"].receive_nothing(timeout=0.5)
        for communicator in listeners.values():
            await communicator.disconnect()

    asyncio.run(scenario())
    sync_close()


def test_an_agent_cannot_watch_a_ticket_outside_their_teams():
    async def scenario():
        other_team = await sync_to_async(TeamFactory)()
        ticket = await sync_to_async(TicketFactory)(team=other_team)
        agent = await sync_to_async(make_agent)("bob", teams=[])
        communicator = connect(agent)
        assert (await communicator.connect())[0]
        await communicator.send_json_to({"watch": ticket.number})
        reply = await communicator.receive_json_from(timeout=5)
        assert reply == {"error": f"No ticket #{ticket.number} that you can see."}
        await communicator.disconnect()

    asyncio.run(scenario())
    sync_close()


@pytest.mark.parametrize("who", ["anonymous", "customer"])
def test_anonymous_visitors_and_customers_are_refused(who):
    async def scenario():
        if who == "anonymous":
            user = AnonymousUser()
        else:
            customer = await sync_to_async(CustomerFactory)()
            user = await sync_to_async(make_customer_user)(customer)
        communicator = connect(user)
        connected, code = await communicator.connect()
        assert not connected and code == 4403

    asyncio.run(scenario())
    sync_close()
