"""X-Hub-Signature-256: "sha256=" + the lowercase hex HMAC-SHA256 of the raw request body, keyed
with the Meta app's secret (META_APP_SECRET). The same scheme signs WhatsApp, Messenger and
Instagram deliveries. The body must be checked exactly as received, before any JSON parsing."""

from __future__ import annotations

import hashlib
import hmac
import logging

from django.conf import settings

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
PREFIX = "sha256="


def meta_signature(body: bytes, app_secret: str) -> str:
    return PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def meta_signature_valid(*, body: bytes, header: str, app_secret: str) -> bool:
    """Is `header` Meta's signature of `body`? A header without the "sha256=" prefix (Meta
    always sends it) and an empty secret are refused. Constant-time comparison."""
    header = (header or "").strip()
    if not app_secret or not header.startswith(PREFIX):
        return False
    return hmac.compare_digest(header.lower().encode(), meta_signature(body, app_secret).encode())


def meta_request_verified(*, body: bytes, header: str) -> bool:
    """Signed with META_APP_SECRET; everything is refused, with an error logged, while it is unset."""
    secret = getattr(settings, "META_APP_SECRET", "") or ""
    if not secret:
        logger.error("Refusing a Meta webhook request: META_APP_SECRET is not set, so no signature can be checked.")
        return False
    valid = meta_signature_valid(body=body, header=header, app_secret=secret)
    if not valid:
        logger.warning("Refusing a Meta webhook request with a missing or wrong %s.", SIGNATURE_HEADER)
    return valid


def meta_verify_token_valid(token: str) -> bool:
    expected = getattr(settings, "META_VERIFY_TOKEN", "") or ""
    if not expected:
        logger.error("Refusing a Meta subscription check: META_VERIFY_TOKEN is not set.")
        return False
    return hmac.compare_digest((token or "").encode(), expected.encode())
