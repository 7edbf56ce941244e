"""Live updates for agents over WebSocket.

An agent connects to /ws/agent/events/ and receives small events (a new message, a change)
for every ticket they may see; sending {"watch": <ticket number>} also subscribes to that
ticket's own stream, used for "who else is viewing".
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from .selectors import ticket_get
from .tasks import ALL_TICKETS_GROUP, UNTEAMED_GROUP, agent_group, team_group, ticket_group


class AgentEventsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not await self._is_agent(user):
            await self.close(code=4403)
            return
        self.watched: set[str] = set()
        self.audience = await self._audience(user)
        for group in self.audience:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    @database_sync_to_async
    def _is_agent(self, user) -> bool:
        return user.is_superuser or hasattr(user, "agent_profile")

    @database_sync_to_async
    def _audience(self, user) -> list[str]:
        """The groups whose tickets this agent may see (as tickets.selectors.ticket_visibility_q)."""
        if user.is_superuser or user.has_perm("tickets.view_all_tickets"):
            return [ALL_TICKETS_GROUP]
        teams = [team_group(pk) for pk in user.agent_profile.teams.values_list("pk", flat=True)]
        return [UNTEAMED_GROUP, agent_group(user.pk), *teams]

    @database_sync_to_async
    def _ticket_id(self, number: int) -> int | None:
        try:
            return ticket_get(user=self.scope["user"], number=number).pk
        except Http404:
            return None

    async def receive_json(self, content, **kwargs) -> None:
        number = content.get("watch") if isinstance(content, dict) else None
        if not isinstance(number, int):
            await self.send_json({"error": 'Send {"watch": <ticket number>}.'})
            return
        ticket_id = await self._ticket_id(number)
        if ticket_id is None:
            await self.send_json({"error": f"No ticket #{number} that you can see."})
            return
        group = ticket_group(ticket_id)
        self.watched.add(group)
        await self.channel_layer.group_add(group, self.channel_name)
        await self.send_json({"watching": number})

    async def disconnect(self, code: int) -> None:
        for group in [*getattr(self, "audience", ()), *getattr(self, "watched", ())]:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def helpdesk_event(self, event: dict) -> None:
        await self.send_json(event["payload"])
