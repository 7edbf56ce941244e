"""Fetching inbound media again when the provider had a bad moment (shared by the Twilio, Meta
and Telegram adapters).

`fetch_with_retries(fetch)` calls `fetch()` up to HELPDESK_MEDIA_FETCH_ATTEMPTS times (default
3), waiting HELPDESK_MEDIA_FETCH_BACKOFF seconds (default 1), then twice that, ... between
tries, as long as the error is temporary (no answer, a timeout, 429 or 5xx: the exception's
`temporary` is true). A permanent error (404, too big) is raised at once. When it gives up,
the last error is raised with `attempts` set on it, so the caller can say "after 3 tries" in
the failure it records on the message; the raw payload stays stored either way, so nothing is
lost and the message can be replayed."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

logger = logging.getLogger(__name__)

T = TypeVar("T")


def fetch_with_retries(fetch: Callable[[], T], *, what: str = "media") -> T:
    attempts = max(1, int(getattr(settings, "HELPDESK_MEDIA_FETCH_ATTEMPTS", 3) or 1))
    backoff = float(getattr(settings, "HELPDESK_MEDIA_FETCH_BACKOFF", 1.0) or 0)
    for attempt in range(1, attempts + 1):
        try:
            return fetch()
        except Exception as exc:
            if not getattr(exc, "temporary", False):
                raise
            exc.attempts = attempt  # type: ignore[attr-defined]
            if attempt == attempts:
                raise
            logger.info("Fetching %s failed (try %s of %s), trying again: %s", what, attempt, attempts, exc)
            if backoff:
                time.sleep(backoff * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def failure_reason(reason: str, exc: BaseException) -> str:
    attempts = getattr(exc, "attempts", 1)
    return f"{reason} (gave up after {attempts} tries)" if attempts > 1 else reason
