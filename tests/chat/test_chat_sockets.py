"""The chat sockets over the real Redis channel layer: a visitor's socket needs their signed
token and sees only their own conversation; the agent socket is for agents only; an agent who
took a chat and the visitor see each other's messages, typing and read state live."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.db import connections

from channels_inbox.chat import services
from channels_inbox.chat.models import ChatAgentStatus
from helpdesk.routing import websocket_urlpatterns
from tests.factories import make_agent
from tickets.models import Message

pytestmark = [pytest.mark.django_db(transaction=True)]


class WithUser:
    def __init__(self, app, user):
        self.app, self.user = app, user

    async def __call__(self, scope, receive, send):
        return await self.app({**scope, "user": self.user}, receive, send)


def socket(path: str, user=None) -> WebsocketCommunicator:
    return WebsocketCommunicator(WithUser(URLRouter(websocket_urlpatterns), user or AnonymousUser()), path)


async def next_of(communicator, kind, timeout=5):
    while True:
        message = await communicator.receive_json_from(timeout=timeout)
        if message.get("type") == kind:
            return message


async def next_from(communicator, author, timeout=5):
    """The next chat message by `author` (the bot's answer may arrive before the echo)."""
    while True:
        message = await next_of(communicator, "message", timeout)
        if message["message"]["author"] == author:
            return message


def run(scenario):
    """Run the scenario on an event loop of its own thread (the browser tests of this package
    keep Playwright's loop running on the main thread)."""

    def in_thread():
        asyncio.run(scenario())
        asyncio.run(sync_to_async(connections.close_all)())

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(in_thread).result()


async def visitor_socket(visitor) -> WebsocketCommunicator:
    ws = socket("/ws/chat/visitor/")
    connected, _ = await ws.connect()
    assert connected
    await ws.send_json_to({"type": "hello", "token": await sync_to_async(services.visitor_token)(visitor)})
    return ws


def test_a_visitor_socket_without_a_valid_token_is_closed():
    async def scenario():
        ws = socket("/ws/chat/visitor/")
        await ws.connect()
        await ws.send_json_to({"type": "message", "text": "hi"})
        assert (await ws.receive_output(timeout=5))["type"] == "websocket.close"
        ws = socket("/ws/chat/visitor/")
        await ws.connect()
        await ws.send_json_to({"type": "hello", "token": "v_forged"})
        assert (await ws.receive_json_from(timeout=5))["type"] == "error"
        assert (await ws.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4403}
        assert not await sync_to_async(Message.objects.exists)()

    run(scenario)


def test_the_agent_socket_refuses_anonymous_and_customers():
    async def scenario():
        from django.contrib.auth import get_user_model

        customer_user = await sync_to_async(get_user_model().objects.create_user)("cust", password="pw-x-12345")
        for user in (AnonymousUser(), customer_user):
            ws = socket("/ws/chat/agent/", user)
            connected, code = await ws.connect()
            assert not connected and code == 4403

    run(scenario)


def test_visitor_and_agent_chat_live_and_other_visitors_see_nothing():
    async def scenario():
        maria = await sync_to_async(make_agent)("maria")
        ana = await sync_to_async(services.visitor_create)(language="en")
        rui = await sync_to_async(services.visitor_create)(language="en")

        agent = socket("/ws/chat/agent/", maria)
        assert (await agent.connect())[0]
        state = await next_of(agent, "state")
        assert state["mine"] == [] and state["queue"] == []
        assert await sync_to_async(ChatAgentStatus.objects.filter(user=maria, connections=1).exists)()

        ana_ws = await visitor_socket(ana)
        welcome = await next_of(ana_ws, "welcome")
        assert welcome["staffed"] is True and welcome["messages"] == []
        ana_tab2 = await visitor_socket(ana)  # the same visitor on another page
        await next_of(ana_tab2, "welcome")
        rui_ws = await visitor_socket(rui)
        await next_of(rui_ws, "welcome")

        await ana_ws.send_json_to({"type": "message", "text": "Where is my parcel?", "page": "https://shop/p/1"})
        echoed = await next_from(ana_ws, "visitor")
        assert echoed["message"]["text"] == "Where is my parcel?"
        assert (await next_from(ana_tab2, "visitor"))["message"]["id"] == echoed["message"]["id"]

        state = await next_of(agent, "state")
        [waiting] = state["queue"]
        assert waiting["page"] == "https://shop/p/1"
        await agent.send_json_to({"type": "take", "session": waiting["id"]})
        history = await next_of(agent, "history")
        assert history["mine"] is True
        # The bot answered first (nothing in the knowledge base) and handed over to a person.
        assert [(m["author"], m["text"]) for m in history["messages"]] == [
            ("visitor", "Where is my parcel?"),
            ("bot", "Let me find a person to help you."),
        ]
        assert (await next_of(ana_ws, "state"))["state"] == "active"

        await agent.send_json_to({"type": "typing", "session": waiting["id"]})
        assert (await next_of(ana_ws, "typing"))["by"] == "agent"
        await agent.send_json_to({"type": "message", "session": waiting["id"], "text": "It ships today."})
        answer = await next_from(ana_ws, "agent")
        assert answer["message"]["text"] == "It ships today."
        await ana_ws.send_json_to({"type": "read"})
        assert (await next_of(agent, "read"))["session"] == waiting["id"]
        await ana_ws.send_json_to({"type": "typing"})
        assert (await next_of(agent, "typing"))["by"] == "visitor"

        # The other visitor's socket got none of it.
        assert await rui_ws.receive_nothing(timeout=0.5)

        # An agent who is not in the chat cannot write into it.
        joao = await sync_to_async(make_agent)("joao")
        other = socket("/ws/chat/agent/", joao)
        await other.connect()
        await next_of(other, "state")
        await other.send_json_to({"type": "message", "session": waiting["id"], "text": "Hi from Joao"})
        assert "Take the chat" in (await next_of(other, "error"))["text"]

        for ws in (agent, other, ana_ws, ana_tab2, rui_ws):
            await ws.disconnect()

    run(scenario)
