"""Webhook secrets encrypted at rest (Fernet). HMAC signing needs the secret itself, so it is
stored reversibly; the key is FIELD_ENCRYPTION_KEY (the first of a comma-separated list
encrypts, all decrypt), or one derived from SECRET_KEY when that is not set."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted with the configured key(s)."""


def _fernet() -> MultiFernet:
    configured = str(getattr(settings, "FIELD_ENCRYPTION_KEY", "") or "")
    keys = [k.strip() for k in configured.split(",") if k.strip()]
    if not keys:
        digest = hmac.new(settings.SECRET_KEY.encode(), b"helpdesk webhook secrets v1", hashlib.sha256).digest()
        return MultiFernet([Fernet(base64.urlsafe_b64encode(digest))])
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be comma-separated Fernet keys.") from exc


def secret_generate() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def secret_encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def secret_decrypt(stored: str) -> str:
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "The webhook secret cannot be decrypted: FIELD_ENCRYPTION_KEY (or SECRET_KEY) changed. "
            "Set a new secret on the subscription."
        ) from exc
