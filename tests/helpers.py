"""Small helpers shared by tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tickets.outbound import sender_for, sender_register, sender_unregister


@contextmanager
def replace_sender(channel: str, sender: Callable) -> Iterator[Callable]:
    """Put a stand-in sender on `channel` for the duration (the real adapter's sender, if
    any, comes back afterwards). For tests of the delivery pipeline itself; each channel's own
    tests exercise its real sender against a local server speaking the provider's format."""
    previous = sender_for(channel)
    sender_unregister(channel)
    sender_register(channel, sender)
    try:
        yield sender
    finally:
        sender_unregister(channel)
        if previous is not None:
            sender_register(channel, previous)
