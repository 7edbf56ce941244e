"""A small client for Twilio's REST API (2010-04-01): creating messages and fetching MMS media.

Requests authenticate with HTTP basic auth, account SID and auth token, both from settings;
neither is ever logged or put into an error message.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from ..http import ProviderUnreachable, http_open, same_origin

DEFAULT_API_BASE = "https://api.twilio.com"
TIMEOUT_SECONDS = 20
MAX_RESPONSE_BYTES = 1024 * 1024


class TwilioNotConfigured(Exception):
    """TWILIO_ACCOUNT_SID or TWILIO_AUTH_TOKEN is empty, or TWILIO_API_BASE is not a web address."""


class TwilioApiError(Exception):
    """Twilio answered with an error (its `code` and `message`), or could not be reached
    (status 0)."""

    def __init__(self, *, status: int, message: str, code: int | None = None, more_info: str = "") -> None:
        self.status = status
        self.code = code
        self.message = message
        self.more_info = more_info
        super().__init__(f"Twilio answered {status or 'nothing'}: {message}" + (f" (error {code})" if code else ""))

    @property
    def temporary(self) -> bool:
        return self.status == 0 or self.status == 429 or self.status >= 500


@dataclass(frozen=True)
class TwilioMedia:
    content: bytes
    content_type: str


def api_base() -> str:
    base = (getattr(settings, "TWILIO_API_BASE", "") or DEFAULT_API_BASE).rstrip("/")
    if not base.startswith(("https://", "http://")):
        # Checked here so that urllib's own error, which quotes the whole URL, never happens.
        raise TwilioNotConfigured("TWILIO_API_BASE must start with https:// (or http:// for a local test server).")
    return base


def credentials() -> tuple[str, str]:
    sid = getattr(settings, "TWILIO_ACCOUNT_SID", "") or ""
    token = getattr(settings, "TWILIO_AUTH_TOKEN", "") or ""
    if not sid or not token:
        raise TwilioNotConfigured("Twilio is not set up: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are needed.")
    return sid, token


def _basic_auth(sid: str, token: str) -> str:
    return "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode("ascii")


def _open(request: urllib.request.Request, *, limit: int) -> tuple[int, bytes, str]:
    """(status, body, content type) for any HTTP answer; TwilioApiError(status 0) for none."""
    try:
        return http_open(request, limit=limit, timeout=TIMEOUT_SECONDS)
    except ProviderUnreachable as exc:
        raise TwilioApiError(status=0, message=f"no answer from Twilio ({exc})") from None


def _error_from(status: int, body: bytes) -> TwilioApiError:
    try:
        data = json.loads(body)
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    code = data.get("code")
    return TwilioApiError(
        status=status,
        code=code if isinstance(code, int) else None,
        message=str(data.get("message") or f"HTTP {status}")[:500],
        more_info=str(data.get("more_info") or ""),
    )


def message_create(
    *,
    to: str,
    body: str,
    from_: str = "",
    messaging_service_sid: str = "",
    status_callback: str = "",
    media_urls: tuple[str, ...] = (),
) -> dict[str, Any]:
    """POST /2010-04-01/Accounts/{AccountSid}/Messages.json; returns Twilio's message resource.
    Each of `media_urls` (at most 10) is sent as a MediaUrl field: an MMS."""
    sid, token = credentials()
    fields = [("To", to), ("Body", body)]
    if messaging_service_sid:
        fields.append(("MessagingServiceSid", messaging_service_sid))
    else:
        fields.append(("From", from_))
    if status_callback:
        fields.append(("StatusCallback", status_callback))
    fields += [("MediaUrl", url) for url in media_urls[:10]]
    request = urllib.request.Request(
        f"{api_base()}/2010-04-01/Accounts/{urllib.parse.quote(sid)}/Messages.json",
        data=urllib.parse.urlencode(fields).encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )
    request.add_unredirected_header("Authorization", _basic_auth(sid, token))
    status, answer, _type = _open(request, limit=MAX_RESPONSE_BYTES)
    if not 200 <= status < 300:
        raise _error_from(status, answer)
    try:
        data = json.loads(answer)
    except ValueError:
        raise TwilioApiError(status=status, message="the answer is not JSON") from None
    if not isinstance(data, dict) or not data.get("sid"):
        raise TwilioApiError(status=status, message="the answer holds no message sid")
    return data


def _form_post(path: str, fields: list[tuple[str, str]]) -> dict[str, Any]:
    """POST form fields to /2010-04-01/Accounts/{AccountSid}/<path>; returns the JSON resource."""
    sid, token = credentials()
    request = urllib.request.Request(
        f"{api_base()}/2010-04-01/Accounts/{urllib.parse.quote(sid)}/{path}",
        data=urllib.parse.urlencode(fields).encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )
    request.add_unredirected_header("Authorization", _basic_auth(sid, token))
    status, answer, _type = _open(request, limit=MAX_RESPONSE_BYTES)
    if not 200 <= status < 300:
        raise _error_from(status, answer)
    try:
        data = json.loads(answer)
    except ValueError:
        raise TwilioApiError(status=status, message="the answer is not JSON") from None
    if not isinstance(data, dict) or not data.get("sid"):
        raise TwilioApiError(status=status, message="the answer holds no sid")
    return data


def call_create(*, to: str, from_: str, url: str, status_callback: str = "") -> dict[str, Any]:
    """POST /2010-04-01/Accounts/{AccountSid}/Calls.json: Twilio rings `to` and, once answered,
    fetches the TwiML at `url`; returns Twilio's call resource (its sid is CA...)."""
    fields = [("To", to), ("From", from_), ("Url", url), ("Method", "POST")]
    if status_callback:
        fields += [("StatusCallback", status_callback), ("StatusCallbackMethod", "POST")]
    return _form_post("Calls.json", fields)


def media_download(url: str, *, max_bytes: int) -> TwilioMedia:
    """Fetch one MMS media file. Credentials go only to Twilio's own API host (TWILIO_API_BASE),
    and not along a redirect (Twilio redirects media to a signed storage URL)."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise TwilioApiError(status=0, message=f"not a web address: {scheme or 'no scheme'}")
    request = urllib.request.Request(url, method="GET")
    if same_origin(url, api_base()):
        request.add_unredirected_header("Authorization", _basic_auth(*credentials()))
    status, body, content_type = _open(request, limit=max_bytes)
    if status != 200:
        raise _error_from(status, body)
    if len(body) > max_bytes:
        raise TwilioApiError(status=200, message=f"the file is over the limit of {max_bytes} bytes")
    return TwilioMedia(content=body, content_type=content_type)
