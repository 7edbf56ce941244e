"""A local HTTP receiver that checks the webhook signature the way an integrator would."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.factories import make_agent
from tickets.services.events import Actor
from webhooks.services import webhook_subscription_create
from webhooks.signing import webhook_signature_verify


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers with `statuses` in turn (the last one repeats), verifying each request with
    `secret` once it is set."""

    url: str = ""
    secret: str = ""
    statuses: list[int] = field(default_factory=lambda: [200])
    requests: list[Received] = field(default_factory=list)

    def next_status(self) -> int:
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            verified = webhook_signature_verify(
                state.secret, self.headers.get("X-Helpdesk-Timestamp"), body, self.headers.get("X-Helpdesk-Signature")
            )
            state.requests.append(Received(dict(self.headers), body, verified))
            code = state.next_status() if verified else 401
            answer = b'{"ok": true}' if code < 300 else b"receiver says no"
            self.send_response(code)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/helpdesk"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def manager() -> Any:
    return make_agent("mona", role="manager")


@pytest.fixture
def subscribe(receiver: Receiver, manager: Any):
    """subscribe(["ticket.created"]) -> a subscription to the receiver, whose secret it knows."""

    def make(event_types: list[str], url: str | None = None) -> Any:
        subscription, secret = webhook_subscription_create(
            url=url or receiver.url, event_types=event_types, actor=Actor.agent(manager), description="CRM"
        )
        receiver.secret = secret
        return subscription

    return make


@pytest.fixture(autouse=True)
def _loopback_receiver_allowed(settings: Any) -> None:
    """The test receiver listens on loopback, which the SSRF guard (helpdesk.netguard) refuses
    unless an administrator allows it: these tests are that administrator."""
    settings.NETGUARD_ALLOW = ["127.0.0.1"]
