"""Live updates for agents over WebSocket.

An agent connects to /ws/agent/events/ and receives small events (a new message, a change)
for every ticket they may see. Messages the page sends:

- `{"watch": <ticket number>}`: also subscribe to that ticket's own stream and announce the
  agent there; answered `{"watching": <number>}`. From then on the page receives
  `{"kind": "presence", "ticket": <number>, "viewers": [{"id", "name"}, ...]}` whenever the
  other agents viewing the ticket change (collision detection).
- `{"typing": <ticket number>}`: tell the others on that ticket that this agent is typing; they
  receive `{"kind": "typing", "ticket": <number>, "agent": {"id", "name"}}`.
- `{"ping": <ticket number>}`: still here (every half minute); viewers not heard of for
  PRESENCE_TIMEOUT seconds (a closed laptop, a crashed server) drop off the list.

Presence needs no shared store: joining announces itself on the ticket's group, everyone
already there answers the newcomer directly, and leaving (disconnect) is announced too. It
works across servers because it travels over the channel layer (Redis).
"""

from __future__ import annotations

import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from .selectors import ticket_get, workspace_audience
from .tasks import ticket_group

PRESENCE_TIMEOUT = 90


class AgentEventsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not await self._is_agent(user):
            await self.close(code=4403)
            return
        self.agent = {"id": user.pk, "name": user.get_full_name() or user.get_username()}
        self.watched: dict[str, int] = {}  # ticket group -> ticket number
        self.viewers: dict[str, dict[str, dict]] = {}  # ticket group -> channel -> agent and time
        self.audience = await database_sync_to_async(workspace_audience)(user)
        for group in self.audience:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    @database_sync_to_async
    def _is_agent(self, user) -> bool:
        return user.is_superuser or hasattr(user, "agent_profile")

    @database_sync_to_async
    def _ticket_id(self, number: int) -> int | None:
        try:
            return ticket_get(user=self.scope["user"], number=number).pk
        except Http404:
            return None

    async def receive_json(self, content, **kwargs) -> None:
        if not isinstance(content, dict):
            content = {}
        if isinstance(content.get("watch"), int):
            await self._watch(content["watch"])
        elif isinstance(content.get("typing"), int) or isinstance(content.get("ping"), int):
            kind = "typing" if "typing" in content else "ping"
            group = self._group_of(content[kind])
            if group is None:
                await self.send_json({"error": f"Watch ticket #{content[kind]} first."})
                return
            await self.channel_layer.group_send(
                group,
                {
                    "type": "presence.typing" if kind == "typing" else "presence.here",
                    "group": group,
                    "channel": self.channel_name,
                    "agent": self.agent,
                },
            )
        else:
            await self.send_json({"error": 'Send {"watch": <ticket number>}.'})

    def _group_of(self, number: int) -> str | None:
        return next((group for group, watched in self.watched.items() if watched == number), None)

    async def _watch(self, number: int) -> None:
        ticket_id = await self._ticket_id(number)
        if ticket_id is None:
            await self.send_json({"error": f"No ticket #{number} that you can see."})
            return
        group = ticket_group(ticket_id)
        self.watched[group] = number
        self.viewers.setdefault(group, {})
        await self.channel_layer.group_add(group, self.channel_name)
        await self.send_json({"watching": number})
        await self.channel_layer.group_send(
            group, {"type": "presence.join", "group": group, "channel": self.channel_name, "agent": self.agent}
        )

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "watched", {}):
            await self.channel_layer.group_send(
                group, {"type": "presence.leave", "group": group, "channel": self.channel_name}
            )
            await self.channel_layer.group_discard(group, self.channel_name)
        for group in getattr(self, "audience", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

    # --- messages from the channel layer ----------------------------------------------------------

    async def helpdesk_event(self, event: dict) -> None:
        await self.send_json(event["payload"])

    async def presence_join(self, event: dict) -> None:
        if event["channel"] == self.channel_name or event["group"] not in self.watched:
            return
        await self._seen(event)
        # Tell the newcomer who is already here, directly.
        await self.channel_layer.send(
            event["channel"],
            {"type": "presence.here", "group": event["group"], "channel": self.channel_name, "agent": self.agent},
        )

    async def presence_here(self, event: dict) -> None:
        if event["channel"] == self.channel_name or event["group"] not in self.watched:
            return
        await self._seen(event)

    async def presence_leave(self, event: dict) -> None:
        group = event["group"]
        if group in self.viewers and self.viewers[group].pop(event["channel"], None) is not None:
            await self._send_viewers(group)

    async def presence_typing(self, event: dict) -> None:
        group = event["group"]
        if event["channel"] == self.channel_name or group not in self.watched:
            return
        if event["channel"] not in self.viewers.get(group, {}):
            await self._seen(event)
        if event["agent"]["id"] != self.agent["id"]:
            await self.send_json({"kind": "typing", "ticket": self.watched[group], "agent": event["agent"]})

    async def _seen(self, event: dict) -> None:
        group = event["group"]
        known = self.viewers.setdefault(group, {})
        is_new = event["channel"] not in known
        known[event["channel"]] = {"agent": event["agent"], "at": time.monotonic()}
        stale = [c for c, seen in known.items() if time.monotonic() - seen["at"] > PRESENCE_TIMEOUT]
        for channel in stale:
            del known[channel]
        if is_new or stale:
            await self._send_viewers(group)

    async def _send_viewers(self, group: str) -> None:
        agents: dict[int, dict] = {}
        for seen in self.viewers.get(group, {}).values():
            if seen["agent"]["id"] != self.agent["id"]:  # the same agent in another tab is no collision
                agents[seen["agent"]["id"]] = seen["agent"]
        viewers = sorted(agents.values(), key=lambda a: (a["name"], a["id"]))
        await self.send_json({"kind": "presence", "ticket": self.watched[group], "viewers": viewers})
