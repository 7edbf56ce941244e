"""Mailbox credentials encrypted at rest (Fernet, from the `cryptography` package).

The key comes from the FIELD_ENCRYPTION_KEY setting: one Fernet key, or several separated by
commas to rotate keys (the first encrypts, every one decrypts). Without it, a key is derived
from SECRET_KEY, so changing SECRET_KEY then makes stored mailbox passwords unreadable: they
have to be entered again (the README says so).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class CredentialUnreadable(Exception):
    """A stored credential cannot be decrypted with the configured key(s)."""


def _derived_key() -> bytes:
    digest = hmac.new(settings.SECRET_KEY.encode(), b"helpdesk mailbox credentials v1", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest)


def _fernet() -> MultiFernet:
    configured = str(getattr(settings, "FIELD_ENCRYPTION_KEY", "") or "")
    keys = [k.strip() for k in configured.split(",") if k.strip()]
    if not keys:
        return MultiFernet([Fernet(_derived_key())])
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64-encoded bytes), comma-separated; "
            'make one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
        ) from exc


def credential_encrypt(plain: str) -> str:
    """The ciphertext to store; an empty value stays empty (no credential)."""
    if not plain:
        return ""
    return _fernet().encrypt(plain.encode()).decode()


def credential_decrypt(stored: str) -> str:
    if not stored:
        return ""
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken as exc:
        raise CredentialUnreadable(
            "The stored password cannot be decrypted: FIELD_ENCRYPTION_KEY (or SECRET_KEY) changed since it was "
            "saved. Enter the password again in the admin."
        ) from exc
