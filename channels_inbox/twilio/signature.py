"""Checking X-Twilio-Signature with the twilio package's RequestValidator.

Twilio signs the full URL it requested (scheme, host, port, path and query string) followed by
the POST parameters, with the account's auth token. The URL we check against is:

- TWILIO_WEBHOOK_BASE_URL + the request's path and query, when that setting is set: use it
  behind a reverse proxy or tunnel, set to the public "https://desk.example.com" that the
  webhook URLs in the Twilio console start with;
- otherwise the request's absolute URI as Django builds it, which behind a proxy is only right
  when the proxy passes the Host header through and SECURE_PROXY_SSL_HEADER is set for https.

RequestValidator accepts the URL with or without the default port, as Twilio does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from twilio.request_validator import RequestValidator

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"


def twilio_request_url(request: HttpRequest) -> str:
    """The URL Twilio requested, as it signed it."""
    base = (getattr(settings, "TWILIO_WEBHOOK_BASE_URL", "") or "").rstrip("/")
    if base:
        return base + request.get_full_path()
    return request.build_absolute_uri()


def twilio_signature_valid(*, url: str, params: Mapping[str, Any] | str, signature: str, auth_token: str) -> bool:
    """Is `signature` Twilio's signature of this URL and these POST parameters (a dict or a
    Django QueryDict; for a JSON body, the body as a string and ?bodySHA256= in the URL)?"""
    if not signature or not auth_token:
        return False
    return RequestValidator(auth_token).validate(url, params, signature)


def twilio_request_verified(request: HttpRequest) -> bool:
    """A form-encoded webhook request signed with TWILIO_AUTH_TOKEN. Everything is refused, with
    an error in the log, while no auth token is configured."""
    auth_token = getattr(settings, "TWILIO_AUTH_TOKEN", "") or ""
    if not auth_token:
        logger.error("Refusing a Twilio webhook request: TWILIO_AUTH_TOKEN is not set, so no signature can be checked.")
        return False
    url = twilio_request_url(request)
    valid = twilio_signature_valid(
        url=url, params=request.POST, signature=request.headers.get(SIGNATURE_HEADER, ""), auth_token=auth_token
    )
    if not valid:
        logger.warning(
            "Refusing a Twilio webhook request with a missing or wrong %s for %s (behind a proxy, set "
            "TWILIO_WEBHOOK_BASE_URL to the public base URL configured in Twilio).",
            SIGNATURE_HEADER,
            url,
        )
    return valid
