"""What the Meta adapters share: reading the JSON body, timestamps, turning fetch failures into a
line on the message."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext as _

from .. import registry


def payload_json(payload: bytes) -> dict[str, Any]:
    try:
        data = json.loads(bytes(payload))
    except ValueError as exc:
        raise registry.AdapterError(f"The Meta payload is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise registry.AdapterError("The Meta payload is not a JSON object.")
    return data


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def timestamp(value: Any, *, millis: bool = False) -> datetime | None:
    """Seconds (WhatsApp) or milliseconds (Messenger) since the epoch, as an aware datetime."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if millis:
        number /= 1000
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def failed_notes(failed: list[dict[str, Any]]) -> list[str]:
    return [
        _("[Attachment not fetched: %(name)s (%(reason)s)]") % {"name": item["filename"], "reason": item["reason"]}
        for item in failed
    ]
