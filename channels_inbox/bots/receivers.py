from __future__ import annotations

from typing import Any


def on_message_ingested(sender: Any, message_id: int, **kwargs: Any) -> None:
    from .services import bot_message_handle

    bot_message_handle(message_id=message_id)
