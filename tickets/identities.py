"""Normalising identity values so one sender always maps to one key.

Email addresses are lower-cased (display names dropped); phone-like identities (phone,
WhatsApp) keep a leading + and digits only; provider ids are trimmed.
"""

from __future__ import annotations

import re
from email.utils import parseaddr

from .models import IdentityKind


class InvalidIdentity(ValueError):
    """The value cannot identify anybody (an empty string, an address without @, ...)."""


_PHONE_KINDS = {IdentityKind.PHONE, IdentityKind.WHATSAPP}


def normalize(kind: str, value: str) -> str:
    if kind not in IdentityKind.values:
        raise InvalidIdentity(f"Unknown identity kind {kind!r}; expected one of {', '.join(IdentityKind.values)}.")
    raw = (value or "").strip()
    if kind == IdentityKind.EMAIL:
        _, address = parseaddr(raw)
        address = address.strip().lower()
        if address.count("@") != 1 or address.startswith("@") or address.endswith("@"):
            raise InvalidIdentity(f"{value!r} is not an email address.")
        return address
    if kind in _PHONE_KINDS:
        raw = re.sub(r"^(whatsapp|tel|sms):", "", raw, flags=re.IGNORECASE)
        digits = re.sub(r"\D", "", raw)
        if raw.startswith("00"):
            digits = digits[2:]
        if len(digits) < 5:
            raise InvalidIdentity(f"{value!r} is not a phone number.")
        return "+" + digits
    if not raw:
        raise InvalidIdentity(f"An empty {kind} identity cannot identify anybody.")
    return raw


def email_domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower()
