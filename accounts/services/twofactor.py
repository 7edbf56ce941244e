"""Two-factor authentication with TOTP (django-otp): enrol, confirm, verify, turn off."""

from __future__ import annotations

import re
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from tickets.services.events import Actor, event_record

DEVICE_NAME = "authenticator"


def user_is_staff(user: Any) -> bool:
    return bool(user and user.is_authenticated and (user.is_staff or hasattr(user, "agent_profile")))


def user_is_admin(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_superuser)


def totp_device_get(user: Any) -> TOTPDevice | None:
    """The user's confirmed authenticator, if they enrolled one."""
    if not getattr(user, "pk", None):
        return None
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def _has_device_key(user: Any) -> str:
    return f"accounts:has-2fa:{user.pk}"


def user_has_device_remember(user: Any) -> bool:
    """Look up whether the user enrolled an authenticator and remember it in the cache (at
    sign-in, enrolment and turning off), so pages can ask without a database query."""
    has = totp_device_get(user) is not None
    cache.set(_has_device_key(user), has, None)
    return has


def user_has_device_cached(user: Any) -> bool:
    """What user_has_device_remember last found (False when never looked up)."""
    return bool(cache.get(_has_device_key(user)))


def totp_enrol_start(*, user: Any) -> TOTPDevice:
    """A new, unconfirmed authenticator for the user (an earlier unconfirmed one is replaced)."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def totp_pending_get(*, user: Any, device_id: Any) -> TOTPDevice | None:
    try:
        return TOTPDevice.objects.filter(user=user, confirmed=False, pk=int(device_id)).first()
    except (TypeError, ValueError):
        return None


def totp_enrol_confirm(*, user: Any, device: TOTPDevice, token: str, actor: Actor) -> bool:
    """Confirm the authenticator with a code it shows; the user's other devices are removed."""
    token = (token or "").strip().replace(" ", "")
    if not token.isdigit() or not device.verify_token(token):
        return False
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        event_record(obj=user, verb="two_factor_enabled", data={"method": "totp"}, actor=actor)
    cache.set(_has_device_key(user), True, None)
    return True


def totp_verify(*, device: TOTPDevice, token: str) -> bool:
    token = (token or "").strip().replace(" ", "")
    return token.isdigit() and bool(device.verify_token(token))


def totp_disable(*, user: Any, actor: Actor) -> int:
    with transaction.atomic():
        deleted, _ = TOTPDevice.objects.filter(user=user).delete()
        if deleted:
            event_record(obj=user, verb="two_factor_disabled", data={"method": "totp"}, actor=actor)
    cache.set(_has_device_key(user), False, None)
    return deleted


def otpauth_uri(device: TOTPDevice) -> str:
    return device.config_url


def secret_base32(device: TOTPDevice) -> str:
    import base64

    return base64.b32encode(device.bin_key).decode().rstrip("=")


def qr_svg(data: str) -> str:
    """The QR code of `data` as an inline SVG element (no image files, no external service)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    svg = image.to_string(encoding="unicode")
    svg = svg[svg.index("<svg") :]
    # Sized by its container, not in millimetres.
    return re.sub(r'^<svg width="[^"]*" height="[^"]*"', '<svg width="100%" height="100%"', svg)


def two_factor_required(user: Any) -> bool:
    return user_is_admin(user) and bool(getattr(settings, "ACCOUNTS_REQUIRE_2FA_FOR_ADMINS", False))
