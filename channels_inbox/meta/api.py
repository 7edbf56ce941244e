"""A small client for Meta's Graph API: WhatsApp media and messages, the Messenger Send API.

Requests authenticate with a bearer token (WHATSAPP_ACCESS_TOKEN or the page access token) in
the Authorization header, never in the URL, so no token reaches a log line or an error message.
The base URL and version are settings (META_GRAPH_BASE, META_GRAPH_VERSION), so tests point
them at a local server.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from ..http import ProviderUnreachable, http_open, same_origin

DEFAULT_GRAPH_BASE = "https://graph.facebook.com"
DEFAULT_GRAPH_VERSION = "v21.0"
TIMEOUT_SECONDS = 20
MAX_RESPONSE_BYTES = 1024 * 1024


class GraphNotConfigured(Exception):
    """A token or id the call needs is empty, or META_GRAPH_BASE is not a web address."""


class GraphApiError(Exception):
    """The Graph API answered with an error (Meta's `message`, `code`, `error_subcode` and
    `error_data.details`), or could not be reached (status 0)."""

    def __init__(self, *, status: int, message: str, code: int | None = None, subcode: int | None = None) -> None:
        self.status = status
        self.message = message
        self.code = code
        self.subcode = subcode
        super().__init__(f"Meta answered {status or 'nothing'}: {message}" + (f" (code {code})" if code else ""))

    @property
    def temporary(self) -> bool:
        # Meta's throttling codes: 4 (app), 80007 (WhatsApp account), 130429 (throughput), 131056 (pair rate).
        return self.status == 0 or self.status == 429 or self.status >= 500 or self.code in (4, 80007, 130429, 131056)


@dataclass(frozen=True)
class GraphMedia:
    content: bytes
    content_type: str


def graph_base() -> str:
    base = (getattr(settings, "META_GRAPH_BASE", "") or DEFAULT_GRAPH_BASE).rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise GraphNotConfigured("META_GRAPH_BASE must start with https:// (or http:// for a local test server).")
    return base


def graph_url(*parts: str) -> str:
    version = (getattr(settings, "META_GRAPH_VERSION", "") or DEFAULT_GRAPH_VERSION).strip("/")
    return "/".join([graph_base(), version, *(urllib.parse.quote(part, safe="") for part in parts)])


def _open(request: urllib.request.Request, *, limit: int) -> tuple[int, bytes, str]:
    """(status, body, content type) for any HTTP answer; GraphApiError(status 0) for none."""
    try:
        return http_open(request, limit=limit, timeout=TIMEOUT_SECONDS)
    except ProviderUnreachable as exc:
        raise GraphApiError(status=0, message=f"no answer from Meta ({exc})") from None


def _error_from(status: int, body: bytes) -> GraphApiError:
    """Meta's error object: {"error": {"message", "type", "code", "error_subcode", "error_data"}}."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return GraphApiError(status=status, message=f"HTTP {status}")
    message = str(error.get("error_user_msg") or error.get("message") or f"HTTP {status}")
    details = (error.get("error_data") or {}).get("details") if isinstance(error.get("error_data"), dict) else None
    if details and details not in message:
        message = f"{message}: {details}"

    def as_int(value: Any) -> int | None:
        try:
            return int(value)
        except (TypeError, ValueError):
            return None

    return GraphApiError(
        status=status, message=message[:500], code=as_int(error.get("code")), subcode=as_int(error.get("error_subcode"))
    )


def _json_call(url: str, *, token: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method="GET" if payload is None else "POST")
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    request.add_unredirected_header("Authorization", f"Bearer {token}")
    status, body, _type = _open(request, limit=MAX_RESPONSE_BYTES)
    if not 200 <= status < 300:
        raise _error_from(status, body)
    try:
        answer = json.loads(body)
    except ValueError:
        raise GraphApiError(status=status, message="the answer is not JSON") from None
    if not isinstance(answer, dict):
        raise GraphApiError(status=status, message="the answer is not a JSON object")
    return answer


def whatsapp_token() -> str:
    token = getattr(settings, "WHATSAPP_ACCESS_TOKEN", "") or ""
    if not token:
        raise GraphNotConfigured("WhatsApp is not set up: WHATSAPP_ACCESS_TOKEN is needed.")
    return token


def whatsapp_message_send(*, to: str, payload: dict[str, Any]) -> str:
    """POST /{version}/{phone_number_id}/messages; returns the wamid Meta gives the message."""
    phone_number_id = getattr(settings, "WHATSAPP_PHONE_NUMBER_ID", "") or ""
    if not phone_number_id:
        raise GraphNotConfigured("WhatsApp is not set up: WHATSAPP_PHONE_NUMBER_ID is needed.")
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, **payload}
    answer = _json_call(graph_url(phone_number_id, "messages"), token=whatsapp_token(), payload=body)
    messages = answer.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict) or not messages[0].get("id"):
        raise GraphApiError(status=200, message="the answer holds no message id")
    return str(messages[0]["id"])


def url_download(url: str, *, max_bytes: int, token: str = "") -> GraphMedia:
    """Fetch a file. A token goes along only over https or to META_GRAPH_BASE's own origin,
    and never along a redirect."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise GraphApiError(status=0, message=f"not a web address: {scheme or 'no scheme'}")
    request = urllib.request.Request(url, method="GET")
    if token and (scheme == "https" or same_origin(url, graph_base())):
        request.add_unredirected_header("Authorization", f"Bearer {token}")
    status, body, content_type = _open(request, limit=max_bytes)
    if status != 200:
        raise _error_from(status, body)
    if len(body) > max_bytes:
        raise GraphApiError(status=200, message=f"the file is over the limit of {max_bytes} bytes")
    return GraphMedia(content=body, content_type=content_type)


def whatsapp_media_download(media_id: str, *, max_bytes: int) -> GraphMedia:
    """GET /{version}/{media_id} for the media's short-lived URL, then that URL, both with the
    WhatsApp token (the URL answers 401 without it)."""
    token = whatsapp_token()
    info = _json_call(graph_url(media_id), token=token)
    url = str(info.get("url") or "")
    if not url:
        raise GraphApiError(status=200, message="Meta gave no download URL for the media")
    try:
        size = int(info.get("file_size") or 0)
    except (TypeError, ValueError):
        size = 0
    if size > max_bytes:
        raise GraphApiError(status=200, message=f"the file is over the limit of {max_bytes} bytes")
    media = url_download(url, max_bytes=max_bytes, token=token)
    return GraphMedia(content=media.content, content_type=str(info.get("mime_type") or media.content_type))


def page_message_send(*, token_setting: str, recipient_id: str, text: str) -> str:
    """The Send API, POST /{version}/me/messages with a page access token (Messenger, and
    Instagram through its linked page); returns Meta's message id."""
    token = getattr(settings, token_setting, "") or ""
    if not token:
        raise GraphNotConfigured(f"Not set up: {token_setting} is needed.")
    payload = {"recipient": {"id": recipient_id}, "messaging_type": "RESPONSE", "message": {"text": text}}
    answer = _json_call(graph_url("me", "messages"), token=token, payload=payload)
    if not answer.get("message_id"):
        raise GraphApiError(status=200, message="the answer holds no message id")
    return str(answer["message_id"])
