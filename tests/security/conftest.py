"""Fixtures for the security tests: a loopback HTTP server that records what reaches it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class Recorder:
    def __init__(self) -> None:
        self.hits: list[str] = []
        self.url = ""
        self.port = 0


@pytest.fixture
def loopback_server() -> Iterator[Recorder]:
    """A server on 127.0.0.1 that answers 200 and records each request path."""
    state = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            state.hits.append(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            body = b"secret internal data"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    state.url = f"http://127.0.0.1:{state.port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _rate_counters_cleared(monkeypatch):
    """Rate-limit counters live in the cache (Redis under make test): start each test clean,
    in one window that does not roll over to the next minute half-way through a test."""
    from django.core.cache import cache

    from accounts.services import lockout

    cache.clear()
    monkeypatch.setattr(lockout, "_bucket", lambda window_seconds: 1)
    yield


# Browser fixtures shared with tests/e2e (Chromium through Playwright, screenshots checked).
from tests.e2e.conftest import _async_unsafe_allowed, browser, page, screenshot  # noqa: E402, F401
