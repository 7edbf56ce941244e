"""Live chat over WebSocket.

`/ws/chat/visitor/` (the widget). The first message must be `{"type": "hello", "token": ...}`
with the signed visitor token from `POST /chat/visitor/`; the socket then joins only that
visitor's group and is answered `{"type": "welcome", "state", "messages", ...}`. After that:
`{"type": "message", "text", "page"}`, `{"type": "typing"}`, `{"type": "read"}`,
`{"type": "handover"}` (talk to a person), `{"type": "end"}`, `{"type": "rate", "score"}`,
`{"type": "contact", "name", "email"}` (pre-chat / offline form).

`/ws/chat/agent/` (the console; signed-in agents only). On connect: `{"type": "state", ...}`
(their chats, the queue, offers). Then `{"type": "open", "session"}` (history, and live
messages of that chat), `{"type": "take", "session"}`, `{"type": "accept", "offer"}`,
`{"type": "message", "session", "text"}`, `{"type": "typing", "session"}`,
`{"type": "read", "session"}`, `{"type": "end", "session"}`, `{"type": "state"}`,
`{"type": "ping"}`.

Both receive `chat.message` events as `{"type": "message", "session", "message": {...}}`, plus
`typing`, `read`, `state` (of one chat), `notice`, `ended`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels.db import DatabaseSyncToAsync
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from . import live, services
from .models import ChatSession, ChatState
from .selectors import (
    console_state,
    message_payload,
    session_messages,
    session_open_for,
    session_summary,
    visible_session,
)


def database_sync_to_async(func):
    """Database work of the chat sockets in a pool of threads (each with its own connection)
    rather than the one thread Channels uses by default, so one slow write does not hold up
    every other socket of the server."""
    return DatabaseSyncToAsync(func, thread_sensitive=False)


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or exc.__class__.__name__


class VisitorChatConsumer(AsyncJsonWebsocketConsumer):
    visitor = None

    async def connect(self) -> None:
        await self.accept()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if self.visitor is None:
            if kind == "hello":
                await self._hello(str(content.get("token", ""))[:500])
            else:
                await self.close(code=4401)
            return
        if kind == "typing":
            session_id = await self._session_id()
            if session_id:
                await self.channel_layer.group_send(
                    live.session_group(session_id), {"type": "chat.typing", "session": session_id, "by": "visitor"}
                )
            return
        reply = await database_sync_to_async(self._act)(kind, content)
        if reply is not None:
            await self.send_json(reply)

    def _act(self, kind: Any, content: dict) -> dict | None:
        """One visitor action, in the visitor's language (errors come back translated)."""
        with translation.override(self.visitor.language):
            try:
                if kind == "message":
                    text, page = content.get("text"), content.get("page")
                    services.chat_visitor_message(
                        visitor=self.visitor,
                        text=text if isinstance(text, str) else "",
                        page_url=page if isinstance(page, str) else "",
                    )
                elif kind == "read":
                    session = self._session()
                    if session is not None:
                        services.chat_read(session=session, by="visitor")
                elif kind == "handover":
                    services.chat_handover(visitor=self.visitor)
                elif kind == "end":
                    session = self._session()
                    if session is not None:
                        services.chat_end(session=session, by="visitor")
                elif kind == "rate" and isinstance(content.get("score"), int):
                    services.chat_rate(visitor=self.visitor, score=content["score"])
                    return {"type": "rated", "score": content["score"]}
                elif kind == "contact":
                    services.chat_offline_contact(
                        visitor=self.visitor,
                        name=str(content.get("name", ""))[:200],
                        email=str(content.get("email", ""))[:254],
                    )
                    return {"type": "contact_saved"}
            except (ValidationError, PermissionDenied) as exc:
                return {"type": "error", "text": _error_text(exc)}
        return None

    async def _hello(self, token: str) -> None:
        visitor = await database_sync_to_async(services.visitor_from_token)(token)
        if visitor is None:
            await self.send_json({"type": "error", "text": "unknown visitor"})
            await self.close(code=4403)
            return
        self.visitor = visitor
        self.group = live.visitor_group(visitor.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await database_sync_to_async(services.visitor_connected)(visitor_id=visitor.pk, delta=1)
        await self.send_json(await database_sync_to_async(self._welcome)())

    def _welcome(self) -> dict[str, Any]:
        from .selectors import chat_staffed

        session = session_open_for(visitor=self.visitor)
        messages = session_messages(session=session) if session else []
        return {
            "type": "welcome",
            "state": session.state if session else None,
            "staffed": chat_staffed(),
            "name": self.visitor.name,
            "email": self.visitor.email,
            "agent_read": session.agent_read_at.isoformat() if session and session.agent_read_at else None,
            "messages": [message_payload(m, audience="visitor", visitor_id=self.visitor.pk) for m in messages],
        }

    def _session(self) -> ChatSession | None:
        return session_open_for(visitor=self.visitor)

    @database_sync_to_async
    def _session_id(self) -> int | None:
        session = self._session()
        return session.pk if session else None

    async def disconnect(self, code: int) -> None:
        if self.visitor is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await database_sync_to_async(services.visitor_connected)(visitor_id=self.visitor.pk, delta=-1)

    # --- from the channel layer ---------------------------------------------------------------

    async def chat_message(self, event: dict) -> None:
        await self.send_json({"type": "message", "message": event["visitor"]})

    async def chat_typing(self, event: dict) -> None:
        if event.get("by") == "agent":
            await self.send_json({"type": "typing", "by": "agent"})

    async def chat_read(self, event: dict) -> None:
        if event.get("by") == "agent":
            await self.send_json({"type": "read", "at": event["at"]})

    async def chat_state(self, event: dict) -> None:
        await self.send_json({"type": "state", "state": event["state"]})

    async def chat_notice(self, event: dict) -> None:
        await self.send_json({"type": "notice", "text": event["text"]})

    async def chat_ended(self, event: dict) -> None:
        await self.send_json({"type": "ended", "by": event["by"], "rate": event.get("rate")})

    async def chat_changed(self, event: dict) -> None:
        return


class AgentChatConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not await self._is_agent(user):
            await self.close(code=4403)
            return
        self.user = user
        self.sessions: set[int] = set()
        await self.channel_layer.group_add(live.AGENTS_GROUP, self.channel_name)
        await self.accept()
        await database_sync_to_async(services.agent_console_connected)(user=user, delta=1)
        await self._send_state()

    @database_sync_to_async
    def _is_agent(self, user) -> bool:
        profile = getattr(user, "agent_profile", None)
        return user.is_active and (user.is_superuser or profile is not None)

    async def _send_state(self) -> None:
        await self.send_json(await database_sync_to_async(self._state)())

    def _state(self) -> dict[str, Any]:
        with translation.override(self._language()):
            return console_state(user=self.user)

    def _language(self) -> str:
        profile = getattr(self.user, "agent_profile", None)
        return profile.language if profile else "en"

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        session_id = content.get("session")
        try:
            if kind == "state":
                await self._send_state()
            elif kind == "ping":
                await database_sync_to_async(services.agent_console_seen)(user=self.user)
            elif kind == "accept" and isinstance(content.get("offer"), int):
                session = await database_sync_to_async(self._offer)(content["offer"])
                if session is not None:
                    await self._open(session.pk)
                await self._send_state()
            elif not isinstance(session_id, int):
                await self.send_json({"type": "error", "text": "Give the chat's session id."})
            elif kind == "open":
                await self._open(session_id)
            elif kind == "take":
                await database_sync_to_async(self._take)(session_id)
                await self._open(session_id)
                await self._send_state()
            elif kind == "message":
                text = content.get("text")
                await database_sync_to_async(self._message)(session_id, text if isinstance(text, str) else "")
            elif kind == "typing" and session_id in self.sessions:
                visitor_id = await database_sync_to_async(self._visitor_id)(session_id)
                await self.channel_layer.group_send(
                    live.visitor_group(visitor_id), {"type": "chat.typing", "session": session_id, "by": "agent"}
                )
            elif kind == "read" and session_id in self.sessions:
                await database_sync_to_async(self._read)(session_id)
            elif kind == "end":
                await database_sync_to_async(self._end)(session_id)
                await self._send_state()
        except (ValidationError, PermissionDenied) as exc:
            await self.send_json({"type": "error", "text": await database_sync_to_async(self._error)(exc)})

    def _error(self, exc: Exception) -> str:
        with translation.override(self._language()):
            return _error_text(exc)

    def _session(self, session_id: int) -> ChatSession:
        session = visible_session(user=self.user, session_id=session_id)
        if session is None:
            raise PermissionDenied("No such chat that you can see.")
        return session

    def _visitor_id(self, session_id: int) -> int:
        return self._session(session_id).visitor_id

    def _take(self, session_id: int) -> None:
        with translation.override(self._language()):
            services.chat_take(user=self.user, session=self._session(session_id))

    def _offer(self, offer_id: int) -> ChatSession | None:
        with translation.override(self._language()):
            return services.chat_offer_take(user=self.user, offer_id=offer_id)

    def _message(self, session_id: int, text: str) -> None:
        with translation.override(self._language()):
            services.chat_agent_message(user=self.user, session=self._session(session_id), text=text)

    def _read(self, session_id: int) -> None:
        services.chat_read(session=self._session(session_id), by="agent")

    def _end(self, session_id: int) -> None:
        with translation.override(self._language()):
            services.chat_end(session=self._session(session_id), by="agent", user=self.user)

    def _history(self, session_id: int) -> dict[str, Any]:
        session = self._session(session_id)
        return {
            "type": "history",
            "session": session_summary(session),
            "mine": session.ticket.assignee_id == self.user.pk and session.state != ChatState.ENDED,
            "agent_read": None,
            "messages": [message_payload(m, audience="agent") for m in session_messages(session=session)],
        }

    async def _open(self, session_id: int) -> None:
        history = await database_sync_to_async(self._history)(session_id)
        if session_id not in self.sessions:
            self.sessions.add(session_id)
            await self.channel_layer.group_add(live.session_group(session_id), self.channel_name)
        await self.send_json(history)

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "user"):
            return
        await self.channel_layer.group_discard(live.AGENTS_GROUP, self.channel_name)
        for session_id in self.sessions:
            await self.channel_layer.group_discard(live.session_group(session_id), self.channel_name)
        await database_sync_to_async(services.agent_console_connected)(user=self.user, delta=-1)

    # --- from the channel layer ---------------------------------------------------------------

    async def chat_message(self, event: dict) -> None:
        await self.send_json({"type": "message", "session": event["session"], "message": event["agent"]})

    async def chat_typing(self, event: dict) -> None:
        if event.get("by") == "visitor":
            await self.send_json({"type": "typing", "session": event["session"], "by": "visitor"})

    async def chat_read(self, event: dict) -> None:
        if event.get("by") == "visitor":
            await self.send_json({"type": "read", "session": event["session"], "at": event["at"]})

    async def chat_state(self, event: dict) -> None:
        await self.send_json({"type": "chat_state", "session": event["session"], "state": event["state"]})

    async def chat_ended(self, event: dict) -> None:
        await self.send_json({"type": "ended", "session": event["session"], "by": event["by"]})

    async def chat_notice(self, event: dict) -> None:
        return

    async def chat_changed(self, event: dict) -> None:
        # Several changes in a row (chats arriving, taken) make one refresh of the lists.
        if getattr(self, "_state_due", False):
            return
        self._state_due = True

        async def later() -> None:
            await asyncio.sleep(0.3)
            self._state_due = False
            await self._send_state()

        self._state_task = asyncio.create_task(later())
