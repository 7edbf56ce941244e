"""Writes and reads for API tokens and idempotency keys.

api_token_create(...)      a new token; returns (token, key); the key is never stored
api_token_authenticate()   the live token behind a key, or ApiTokenInvalid with the reason
api_token_revoke(...)      stop a token working, for good
idempotency_*              remember the first response to a POST with an Idempotency-Key
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .models import ApiToken, IdempotencyKey, TokenScope

KEY_PREFIX = "hd_"
# The visible part: "hd_" and the first 8 characters of the secret.
PREFIX_LENGTH = len(KEY_PREFIX) + 8
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
IDEMPOTENCY_TTL = timedelta(hours=24)


class ApiTokenInvalid(Exception):
    """The key does not authenticate anybody; the message says why, for the 401 answer."""


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_new_key() -> tuple[str, str, str]:
    """(key, prefix, hash) for a fresh random secret."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[:PREFIX_LENGTH], key_hash(key)


def scopes_for(scope: str) -> list[str]:
    """The scopes a token of the given level holds: write implies read."""
    if scope == TokenScope.WRITE:
        return [TokenScope.READ, TokenScope.WRITE]
    if scope == TokenScope.READ:
        return [TokenScope.READ]
    raise ValidationError(f"Unknown scope {scope!r}; use one of {', '.join(TokenScope.values)}.")


def scopes_clean(scopes: Iterable[str]) -> list[str]:
    wanted = set(scopes)
    unknown = wanted - set(TokenScope.values)
    if unknown:
        raise ValidationError(f"Unknown scopes: {', '.join(sorted(unknown))}.")
    if TokenScope.WRITE in wanted:
        wanted.add(TokenScope.READ)
    if not wanted:
        raise ValidationError("A token needs at least the read scope.")
    return [s for s in TokenScope.values if s in wanted]


def api_token_create(
    *,
    user: AbstractBaseUser,
    name: str = "",
    scopes: Iterable[str] = (TokenScope.READ, TokenScope.WRITE),
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns (token, key). Show the key now: it is not kept."""
    if not user.is_active:
        raise ValidationError(f"{user.get_username()} is inactive and cannot hold API tokens.")
    key, prefix, digest = api_token_new_key()
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=prefix, key_hash=digest, scopes=scopes_clean(scopes), expires_at=expires_at
    )
    return token, key


def api_token_authenticate(*, key: str) -> ApiToken:
    """The token for `key`, with its user loaded; raises ApiTokenInvalid saying why not."""
    token = ApiToken.objects.select_related("user").filter(key_hash=key_hash(key.strip())).first()
    if token is None:
        raise ApiTokenInvalid("Invalid API token.")
    if token.is_revoked:
        raise ApiTokenInvalid(f"This API token ({token.prefix}…) was revoked on {token.revoked_at:%Y-%m-%d}.")
    if token.is_expired:
        raise ApiTokenInvalid(f"This API token ({token.prefix}…) expired on {token.expires_at:%Y-%m-%d %H:%M} UTC.")
    if not token.user.is_active:
        raise ApiTokenInvalid("The user this API token belongs to is inactive.")
    api_token_touch(token=token)
    return token


def api_token_touch(*, token: ApiToken, now: datetime | None = None) -> None:
    """Note that the token was used, writing at most once a minute."""
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    token.last_used_at = now


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=token.revoked_at)
    return token


# --- Idempotency keys -------------------------------------------------------------------------


@dataclass(frozen=True)
class IdempotencyClaim:
    """The outcome of presenting a key: either ours to fill (`record`), or an earlier result."""

    record: IdempotencyKey | None = None
    replay_status: int | None = None
    replay_body: Any = None
    conflict: str = ""  # "in_progress" or "mismatch"


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def idempotency_claim(*, owner: str, key: str, fingerprint: str) -> IdempotencyClaim:
    """Reserve `key` for this request, or report what an earlier request with it got.

    The reservation is committed at once (outside any request transaction), so two requests
    racing with the same key cannot both go ahead: the loser sees it as in progress."""
    for _attempt in range(2):
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(owner=owner, key=key, fingerprint=fingerprint)
            return IdempotencyClaim(record=record)
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(owner=owner, key=key).first()
            if existing is None:
                continue  # released meanwhile: try again
            if existing.created_at < timezone.now() - IDEMPOTENCY_TTL:
                IdempotencyKey.objects.filter(pk=existing.pk).delete()
                continue
            if existing.fingerprint != fingerprint:
                return IdempotencyClaim(conflict="mismatch")
            if existing.response_status is None:
                return IdempotencyClaim(conflict="in_progress")
            return IdempotencyClaim(replay_status=existing.response_status, replay_body=existing.response_body)
    return IdempotencyClaim(conflict="in_progress")


def idempotency_complete(*, record: IdempotencyKey, status: int, body: Any) -> None:
    IdempotencyKey.objects.filter(pk=record.pk).update(response_status=status, response_body=body)


def idempotency_release(*, record: IdempotencyKey) -> None:
    """Forget a reservation whose request failed, so the client may retry with the key."""
    IdempotencyKey.objects.filter(pk=record.pk).delete()


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Delete keys older than 24 hours; returns how many (for a periodic task)."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_TTL
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
