"""Channel-layer groups of live chat, and pushing to them from synchronous code.

- `chat.visitor.<visitor id>`: every open tab of one visitor (only their own conversation);
- `chat.session.<session id>`: the agent consoles that have that chat open;
- `chat.agents`: every open agent console (the queue changed: ask for the state again).
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

AGENTS_GROUP = "chat.agents"


def visitor_group(visitor_id: int) -> str:
    return f"chat.visitor.{visitor_id}"


def session_group(session_id: int) -> str:
    return f"chat.session.{session_id}"


def push(groups: list[str], event: dict[str, Any]) -> None:
    """Send one event to groups; the data is already stored, so a failed push is only logged."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        for group in groups:
            async_to_sync(layer.group_send)(group, event)
    except Exception:
        logger.warning("Could not push a live chat event to %s", groups, exc_info=True)
