"""A short-lived cache of the dashboard's figures per filter set.

Keyed by the rollups' watermark and last run, so a refresh of the rollups starts a new
generation (the old entries expire unused), and by a version number that `dashboard_cache_forget()` moves on. Only
for users who see every ticket (the figures do not depend on who asks then), only once the
rollups are built. METRICS_DASHBOARD_CACHE_SECONDS (default 60; 0 turns it off) bounds how
long the live parts (the newest tickets of the backlog) may be behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache

from tickets.selectors import ticket_visibility_q

from .rollups import rollup_refreshed_at

_VERSION_KEY = "metrics:dashboard:version"


def dashboard_cache_seconds() -> int:
    return int(getattr(settings, "METRICS_DASHBOARD_CACHE_SECONDS", 60))


def dashboard_cache_forget() -> None:
    """Drop every cached dashboard (a new version number)."""
    try:
        cache.incr(_VERSION_KEY)
    except ValueError:
        cache.set(_VERSION_KEY, 1, None)


def dashboard_cached(
    *, user: AbstractBaseUser, key_parts: tuple, compute: Callable[[], Any], page_cache: dict | None = None
) -> Any:
    """compute(), or its result for the same key_parts since the last rollup refresh."""
    seconds = dashboard_cache_seconds()
    page_cache = {} if page_cache is None else page_cache
    watermark = rollup_refreshed_at(page_cache)
    if seconds <= 0 or watermark is None or ticket_visibility_q(user):
        return compute()
    version = cache.get(_VERSION_KEY, 0)
    generation = (watermark.isoformat(), str(page_cache.get("last_run_at")), version)
    digest = hashlib.sha256(repr((generation, key_parts)).encode()).hexdigest()[:32]
    key = f"metrics:dashboard:{digest}"
    found = cache.get(key)
    if found is not None:
        return found
    value = compute()
    cache.set(key, value, seconds)
    return value
