"""Where outbound messages go: channel adapters register a sender per channel here.

`tickets` never imports a concrete channel; `channels_inbox` registers its senders when the
app is ready. A sender takes a Message and returns the provider's id for it, or raises
DeliveryError (permanent, with the provider's reason) or DeliveryRetry (try again later).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Message

Sender = Callable[["Message"], str]


class DeliveryError(Exception):
    """The provider refused the message for good; the reason is shown on the ticket."""


class DeliveryRetry(Exception):
    """A temporary failure (timeout, 5xx, rate limit): the delivery task will try again."""


_senders: dict[str, Sender] = {}


def sender_register(channel: str, sender: Sender) -> None:
    if channel in _senders and _senders[channel] is not sender:
        raise ValueError(f"A sender for channel {channel!r} is already registered.")
    _senders[channel] = sender


def sender_unregister(channel: str) -> None:
    _senders.pop(channel, None)


def sender_for(channel: str) -> Sender | None:
    return _senders.get(channel)
