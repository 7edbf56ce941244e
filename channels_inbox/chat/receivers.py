from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def on_message_ingested(sender: Any, message_id: int, **kwargs: Any) -> None:
    from .services import bot_answer

    try:
        bot_answer(message_id=message_id)
    except Exception:  # the bot must not break the other listeners; an agent still sees the chat
        logger.exception("The chat bot could not answer message %s", message_id)
