"""The channel adapter registry.

Each channel (email, web form, chat, SMS, WhatsApp, Messenger, Instagram, Telegram, voice)
is a sub-package of `channels_inbox` with one `ChannelAdapter` registered here by its key.
An adapter verifies requests, parses the provider's payload into `InboundMessage` values and
sends outbound messages; it never touches ticket models itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from tickets.inbound import InboundMessage
from tickets.models import Channel, Message, RawInbound
from tickets.outbound import sender_register


class AdapterError(Exception):
    """The payload cannot be understood; the message says what is wrong with it."""


class ChannelAdapter:
    """Base class: override what the channel supports."""

    #: the channel key, one of tickets.models.Channel
    key: str = ""

    def verify(self, *, body: bytes, headers: Mapping[str, str], url: str) -> bool:
        """Is this request really from the provider (signature, token)?"""
        return False

    def external_id(self, *, body: bytes, headers: Mapping[str, str]) -> str | None:
        """The provider's id for the delivery, read cheaply before full parsing, so the raw
        payload can be stored and deduplicated first. None when there is no such id."""
        return None

    def parse(self, raw: RawInbound) -> list[InboundMessage]:
        """Turn a stored raw payload into zero or more inbound messages."""
        raise NotImplementedError

    def send(self, message: Message) -> str:
        """Deliver an outbound message; return the provider's id for it."""
        raise NotImplementedError


_adapters: dict[str, ChannelAdapter] = {}


def register(adapter: ChannelAdapter) -> ChannelAdapter:
    if adapter.key not in Channel.values:
        raise ValueError(f"{adapter.key!r} is not a channel; expected one of {', '.join(Channel.values)}.")
    if adapter.key in _adapters:
        raise ValueError(f"An adapter for channel {adapter.key!r} is already registered.")
    _adapters[adapter.key] = adapter
    if type(adapter).send is not ChannelAdapter.send:
        sender_register(adapter.key, adapter.send)
    return adapter


def unregister(key: str) -> None:
    from tickets.outbound import sender_unregister

    if _adapters.pop(key, None) is not None:
        sender_unregister(key)


def get(key: str) -> ChannelAdapter:
    try:
        return _adapters[key]
    except KeyError:
        raise AdapterError(f"No adapter is registered for channel {key!r}.") from None


def registered() -> dict[str, ChannelAdapter]:
    return dict(_adapters)
