"""The settings of triggers and automations, each with its default (README: Triggers and
automations)."""

from __future__ import annotations

from django.conf import settings


def _int(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def sweep_batch() -> int:
    return max(1, _int("AUTOMATION_SWEEP_BATCH", 500))


def max_depth() -> int:
    return max(1, _int("AUTOMATION_TRIGGER_MAX_DEPTH", 5))


def max_firings_per_hour() -> int:
    return max(1, _int("AUTOMATION_TRIGGER_MAX_PER_HOUR", 10))


def event_window_hours() -> int:
    return max(1, _int("AUTOMATION_TRIGGER_WINDOW_HOURS", 24))


def webhook_allow_private() -> bool:
    return bool(getattr(settings, "AUTOMATION_WEBHOOK_ALLOW_PRIVATE", False))


def webhook_timeout() -> int:
    return max(1, _int("AUTOMATION_WEBHOOK_TIMEOUT_SECONDS", 10))


def webhook_max_attempts() -> int:
    return max(1, _int("AUTOMATION_WEBHOOK_MAX_ATTEMPTS", 5))


def webhook_backoff(attempts: int) -> int:
    """Seconds to wait after the `attempts`-th failed try: base, 2x, 4x, ... capped (15 min)."""
    base = max(0, _int("AUTOMATION_WEBHOOK_BACKOFF_SECONDS", 30))
    return min(base * (2 ** max(0, attempts - 1)), max(0, _int("AUTOMATION_WEBHOOK_BACKOFF_MAX_SECONDS", 900)))
