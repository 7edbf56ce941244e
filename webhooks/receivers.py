"""Signal receivers (connected in WebhooksConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.db import transaction


def event_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """A new tickets Event: once its transaction commits, turn it into deliveries."""
    if not created or kwargs.get("raw"):
        return
    from .services import webhook_event_emit

    event_id = instance.pk
    transaction.on_commit(lambda: webhook_event_emit(event_id=event_id))
