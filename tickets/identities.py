"""Normalising identity values so one sender always maps to one key.

Email addresses are lower-cased (display names dropped); provider ids are trimmed; phone-like
identities (phone, WhatsApp) are parsed with the `phonenumbers` package and kept in E.164
("+14155550100"), so the same number typed as "+1 (415) 555-0100", "tel:+14155550100",
"whatsapp:+14155550100" or "0014155550100" is one customer.

A phone number must carry its country code ("+" or the international prefix "00"), unless
`HELPDESK_DEFAULT_PHONE_REGION` names a region (e.g. "GB", "DE") to read national numbers
("020 7946 0000") in. A WhatsApp id (wa_id) is always international: bare digits there are a
country code and number. A number that cannot be a phone number (unknown country code, too
short or too long for its country) is refused with the reason. Numbers in ranges not (yet)
assigned are accepted: the provider is the authority on whether a message reaches them.
"""

from __future__ import annotations

import re
from email.utils import parseaddr

import phonenumbers
from django.conf import settings

from .models import IdentityKind


class InvalidIdentity(ValueError):
    """The value cannot identify anybody (an empty string, an address without @, ...)."""


_PHONE_KINDS = {IdentityKind.PHONE, IdentityKind.WHATSAPP}
_SCHEME = re.compile(r"^(whatsapp|tel|sms|callto):", re.IGNORECASE)

_REASONS = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "its country code is unknown",
    phonenumbers.ValidationResult.TOO_SHORT: "it is too short",
    phonenumbers.ValidationResult.INVALID_LENGTH: "it has the wrong number of digits for its country",
    phonenumbers.ValidationResult.TOO_LONG: "it is too long",
}


def default_phone_region() -> str:
    return (getattr(settings, "HELPDESK_DEFAULT_PHONE_REGION", "") or "").strip().upper()


def phone_normalize(value: str, *, international: bool = False) -> str:
    """`value` as an E.164 number, or InvalidIdentity saying why not. `international`: bare
    digits are a country code and number (WhatsApp ids), whatever the default region."""
    raw = _SCHEME.sub("", (value or "").strip()).strip()
    if not re.search(r"\d", raw):
        raise InvalidIdentity(f"{value!r} is not a phone number.")
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    elif international and not raw.startswith("+"):
        raw = "+" + raw
    region = default_phone_region() or None
    if not raw.startswith("+") and region is None:
        raise InvalidIdentity(
            f"{value!r} has no country code: write it as +<country code><number>, e.g. +14155550100 "
            "(or set HELPDESK_DEFAULT_PHONE_REGION)."
        )
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidIdentity(f"{value!r} is not a phone number.") from None
    result = phonenumbers.is_possible_number_with_reason(parsed)
    if result not in (phonenumbers.ValidationResult.IS_POSSIBLE, phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        reason = _REASONS.get(result, "it is not a possible number")
        raise InvalidIdentity(f"{value!r} is not a phone number: {reason}.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


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
        return phone_normalize(raw, international=kind == IdentityKind.WHATSAPP)
    if not raw:
        raise InvalidIdentity(f"An empty {kind} identity cannot identify anybody.")
    return raw


def email_domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower()
