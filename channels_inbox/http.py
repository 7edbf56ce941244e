"""The one way channel adapters talk HTTP to their providers (Telegram, Twilio, Meta)."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.parse
import urllib.request

from helpdesk.netguard import guarded_urlopen

MAX_ERROR_BYTES = 1024 * 1024


class ProviderUnreachable(Exception):
    """No HTTP answer at all (connection refused, timeout, broken response). The message
    names the reason, never the URL (which may carry a token)."""


def http_open(request: urllib.request.Request, *, limit: int, timeout: float) -> tuple[int, bytes, str]:
    """(status, body, content type) for any HTTP answer, error statuses included. At most
    `limit` + 1 bytes of a body are read, so the caller can tell an oversized one apart."""
    try:
        # Through the SSRF guard: payload URLs never reach loopback or private addresses.
        with guarded_urlopen(request, timeout=timeout) as response:
            return response.status, response.read(limit + 1), response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read(MAX_ERROR_BYTES), exc.headers.get_content_type() if exc.headers else ""
    except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise ProviderUnreachable(str(getattr(exc, "reason", exc))) from None


def same_origin(url: str, base: str) -> bool:
    """Same scheme, host and port: where credentials for `base` may also be sent."""
    a, b = urllib.parse.urlsplit(url), urllib.parse.urlsplit(base)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)
