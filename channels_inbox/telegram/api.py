"""A small client for the Telegram Bot API (https://core.telegram.org/bots/api).

Requests go to `{TELEGRAM_API_BASE}/bot{token}/{method}` and files come from
`{TELEGRAM_API_BASE}/file/bot{token}/{file_path}`. Both URLs hold the bot token, so no URL is
ever logged, put in an exception message or stored: errors name the method only.
"""

from __future__ import annotations

import json
import logging
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from ..http import ProviderUnreachable, http_open

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.telegram.org"
TIMEOUT_SECONDS = 20
MAX_RESPONSE_BYTES = 1024 * 1024


class TelegramNotConfigured(Exception):
    """TELEGRAM_BOT_TOKEN is empty, or TELEGRAM_API_BASE is not a web address."""


class TelegramApiError(Exception):
    """The Bot API answered with an error, or could not be reached.

    `status` is the HTTP status (0 when the server was not reached), `description` Telegram's
    own words ("Forbidden: bot was blocked by the user"), `retry_after` the seconds Telegram
    asks us to wait after a 429."""

    def __init__(self, *, method: str, status: int, description: str, retry_after: int | None = None) -> None:
        self.method = method
        self.status = status
        self.description = description
        self.retry_after = retry_after
        super().__init__(f"Telegram {method} failed ({status or 'no answer'}): {description}")

    @property
    def temporary(self) -> bool:
        """Worth trying again later: rate limited, a server error or no answer at all."""
        return self.status == 0 or self.status == 429 or self.status >= 500


@dataclass(frozen=True)
class TelegramFile:
    content: bytes
    file_path: str


def api_base() -> str:
    base = (getattr(settings, "TELEGRAM_API_BASE", "") or DEFAULT_API_BASE).rstrip("/")
    if not base.startswith(("https://", "http://")):
        # Checked here so that urllib's own error, which quotes the whole URL, never happens.
        raise TelegramNotConfigured("TELEGRAM_API_BASE must start with https:// (or http:// for a local test server).")
    return base


def bot_token() -> str:
    token = getattr(settings, "TELEGRAM_BOT_TOKEN", "") or ""
    if not token:
        raise TelegramNotConfigured("Telegram is not set up: TELEGRAM_BOT_TOKEN is empty.")
    return token


def _open(request: urllib.request.Request, *, method: str, limit: int) -> tuple[int, bytes]:
    """(status, body) for any HTTP answer; TelegramApiError(status 0) when there is none."""
    try:
        status, body, _content_type = http_open(request, limit=limit, timeout=TIMEOUT_SECONDS)
    except ProviderUnreachable as exc:
        raise TelegramApiError(method=method, status=0, description=f"no answer from the Bot API ({exc})") from None
    return status, body


def _error_from(method: str, status: int, body: bytes) -> TelegramApiError:
    try:
        data = json.loads(body)
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    parameters = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
    retry_after = parameters.get("retry_after")
    return TelegramApiError(
        method=method,
        status=int(data.get("error_code") or status),
        description=str(data.get("description") or f"HTTP {status}")[:500],
        retry_after=int(retry_after) if isinstance(retry_after, int) else None,
    )


def bot_api_call(method: str, payload: dict[str, Any]) -> Any:
    """Call one Bot API method with a JSON body; returns its `result`."""
    url = f"{api_base()}/bot{bot_token()}/{method}"
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    status, body = _open(request, method=method, limit=MAX_RESPONSE_BYTES)
    if status != 200:
        raise _error_from(method, status, body)
    try:
        data = json.loads(body)
    except ValueError:
        raise TelegramApiError(method=method, status=status, description="the answer is not JSON") from None
    if not isinstance(data, dict) or not data.get("ok"):
        raise _error_from(method, status, body)
    return data.get("result")


def _multipart(fields: dict[str, str], file_field: str, filename: str, content: bytes, content_type: str):
    """(body, content type) of a multipart/form-data request with one file."""
    boundary = "----helpdesk" + secrets.token_hex(16)
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    safe_name = filename.replace('"', "").replace("\r", "").replace("\n", "") or "file"
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{safe_name}"\r\n'
            f"Content-Type: {content_type or 'application/octet-stream'}\r\n\r\n"
        ).encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def bot_api_upload(
    method: str, fields: dict[str, str], *, file_field: str, filename: str, content: bytes, content_type: str
) -> Any:
    """Call a Bot API method that uploads a file (sendPhoto, sendDocument) as multipart/form-data."""
    url = f"{api_base()}/bot{bot_token()}/{method}"
    body, multipart_type = _multipart(fields, file_field, filename, content, content_type)
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": multipart_type, "Accept": "application/json"}
    )
    status, answer = _open(request, method=method, limit=MAX_RESPONSE_BYTES)
    if status != 200:
        raise _error_from(method, status, answer)
    try:
        data = json.loads(answer)
    except ValueError:
        raise TelegramApiError(method=method, status=status, description="the answer is not JSON") from None
    if not isinstance(data, dict) or not data.get("ok"):
        raise _error_from(method, status, answer)
    return data.get("result")


def file_download(file_id: str, *, max_bytes: int) -> TelegramFile:
    """getFile, then the file itself. Files over `max_bytes` are refused before download when
    Telegram tells the size, and never read past the limit otherwise."""
    info = bot_api_call("getFile", {"file_id": file_id})
    if not isinstance(info, dict) or not info.get("file_path"):
        raise TelegramApiError(method="getFile", status=200, description="Telegram gave no file_path for the file")
    size = info.get("file_size")
    if isinstance(size, int) and size > max_bytes:
        raise TelegramApiError(
            method="getFile", status=200, description=f"the file is {size} bytes, over the limit of {max_bytes}"
        )
    file_path = str(info["file_path"])
    url = f"{api_base()}/file/bot{bot_token()}/{urllib.parse.quote(file_path)}"
    status, body = _open(urllib.request.Request(url, method="GET"), method="file download", limit=max_bytes)
    if status != 200:
        raise _error_from("file download", status, body)
    if len(body) > max_bytes:
        raise TelegramApiError(
            method="file download", status=200, description=f"the file is over the limit of {max_bytes} bytes"
        )
    return TelegramFile(content=body, file_path=file_path)
