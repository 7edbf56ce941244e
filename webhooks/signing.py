"""The webhook signature, for the sender and for integrators who receive webhooks.

    X-Helpdesk-Timestamp: 1767225600
    X-Helpdesk-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}" keyed with the secret>

This module imports nothing from Django, so receivers may copy it as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_PREFIX = "sha256="
DEFAULT_TOLERANCE_SECONDS = 300


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def webhook_signature(secret: str | bytes, timestamp: str | int, body: str | bytes) -> str:
    """The X-Helpdesk-Signature header value for one request."""
    signed = _bytes(str(timestamp)) + b"." + _bytes(body)
    return SIGNATURE_PREFIX + hmac.new(_bytes(secret), signed, hashlib.sha256).hexdigest()


def webhook_signature_verify(
    secret: str | bytes,
    timestamp: str | int | None,
    body: str | bytes,
    header: str | None,
    *,
    tolerance: int | None = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when `header` is the signature of (timestamp, body) under `secret` and the
    timestamp is within `tolerance` seconds of now (None: no age check). Constant-time."""
    if not secret or not header or timestamp is None or not header.startswith(SIGNATURE_PREFIX):
        return False
    try:
        sent = int(str(timestamp))
    except ValueError:
        return False
    if tolerance is not None and abs((time.time() if now is None else now) - sent) > tolerance:
        return False
    return hmac.compare_digest(webhook_signature(secret, str(timestamp), body), header.strip())
