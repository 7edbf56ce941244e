"""Signal receivers (connected in WebhooksConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db import transaction

# Whether any subscription is active, kept in the shared cache: most desks have none, and the
# SLA sweep or a bulk update writes thousands of events a minute. Dropped whenever a
# subscription is saved or deleted (also after its transaction commits, so no other process
# caches the state from before), and at most this old otherwise.
ANY_ACTIVE_KEY = "webhooks:any-active-subscription"
ANY_ACTIVE_SECONDS = 60


def subscriptions_active() -> bool:
    value = cache.get(ANY_ACTIVE_KEY)
    if value is None:
        from .models import WebhookSubscription

        value = WebhookSubscription.objects.filter(is_active=True).exists()
        cache.set(ANY_ACTIVE_KEY, value, ANY_ACTIVE_SECONDS)
    return bool(value)


def subscription_changed(sender: Any, **kwargs: Any) -> None:
    cache.delete(ANY_ACTIVE_KEY)
    transaction.on_commit(lambda: cache.delete(ANY_ACTIVE_KEY))


def event_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """A new tickets Event: once its transaction commits, turn it into deliveries."""
    if not created or kwargs.get("raw"):
        return
    if not subscriptions_active():
        return
    from .services import webhook_event_emit

    event_id = instance.pk
    transaction.on_commit(lambda: webhook_event_emit(event_id=event_id))
