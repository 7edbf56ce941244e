"""The ticket page's "Call" button: shown when the customer has a phone number, the agent may
contact customers and Twilio Voice has a caller id set up."""

from __future__ import annotations

from typing import Any

from django.conf import settings


def call_composer_context(*, user: Any, identities: list[Any], **_ignored: Any) -> dict[str, Any]:
    phones = [identity.value for identity in identities if identity.kind in ("phone", "whatsapp")]
    configured = bool(getattr(settings, "TWILIO_VOICE_NUMBER", "") or getattr(settings, "TWILIO_FROM_NUMBER", ""))
    if not phones or not configured or not user.has_perm("tickets.reply_publicly"):
        return {}
    return {"call": {"numbers": list(dict.fromkeys(phones))}}
