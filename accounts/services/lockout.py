"""Sign-in lockout and rate limits.

A username that fails LOGIN_FAILURE_LIMIT times from one address within LOGIN_LOCKOUT_MINUTES
is locked for that address until the oldest of those failures is LOGIN_LOCKOUT_MINUTES old.
Failures are rows (LoginFailure), so a lockout survives a restart and shows in the admin.
Rate limits (sign-in attempts per address, API token failures per address) are counters in
the cache with a one-minute window.
"""

from __future__ import annotations

import datetime as dt
import math

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from ..models import LoginFailure


def failure_limit() -> int:
    return max(1, int(getattr(settings, "LOGIN_FAILURE_LIMIT", 5)))


def lockout_window() -> dt.timedelta:
    return dt.timedelta(minutes=max(1, int(getattr(settings, "LOGIN_LOCKOUT_MINUTES", 15))))


def _norm(username: str) -> str:
    return (username or "").strip().lower()[:150]


def login_locked_until(*, username: str, ip_address: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the lock on (username, address) ends, or None when it is not locked."""
    now = now or timezone.now()
    window = lockout_window()
    recent = list(
        LoginFailure.objects.filter(username=_norm(username), ip_address=ip_address, at__gt=now - window)
        .order_by("-at")
        .values_list("at", flat=True)[: failure_limit()]
    )
    if len(recent) < failure_limit():
        return None
    return recent[-1] + window


def login_failure_record(*, username: str, ip_address: str, stage: str = "password") -> dt.datetime | None:
    """Count one failure; returns when the lock ends if this failure locked the pair."""
    LoginFailure.objects.create(username=_norm(username), ip_address=ip_address, stage=stage)
    return login_locked_until(username=username, ip_address=ip_address)


def login_failures_clear(*, username: str, ip_address: str) -> None:
    LoginFailure.objects.filter(username=_norm(username), ip_address=ip_address).delete()


def minutes_left(until: dt.datetime, now: dt.datetime | None = None) -> int:
    return max(1, math.ceil(((until - (now or timezone.now())).total_seconds()) / 60))


def _bucket(window_seconds: int) -> int:
    """The current fixed window's number."""
    return int(timezone.now().timestamp()) // window_seconds


def rate_hit(*, scope: str, key: str, limit: int, window_seconds: int = 60) -> bool:
    """Count one hit for (scope, key) in the current window; True once over `limit`."""
    if limit <= 0:
        return False
    bucket = _bucket(window_seconds)
    cache_key = f"accounts:rate:{scope}:{key}:{bucket}"
    cache.add(cache_key, 0, window_seconds + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, window_seconds + 5)
        count = 1
    return count > limit


def rate_exceeded(*, scope: str, key: str, limit: int, window_seconds: int = 60) -> bool:
    """True when (scope, key) is already over `limit` in this window (counts nothing)."""
    if limit <= 0:
        return False
    bucket = _bucket(window_seconds)
    return int(cache.get(f"accounts:rate:{scope}:{key}:{bucket}") or 0) >= limit


def client_ip(request) -> str:  # noqa: ANN001
    return (request.META.get("REMOTE_ADDR") or "unknown")[:45]
