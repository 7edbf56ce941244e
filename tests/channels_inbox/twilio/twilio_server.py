"""A local Twilio REST API: http.server in a thread on 127.0.0.1, answering Messages.json and
MMS media the way api.twilio.com does (JSON message resources, JSON errors with code, message,
more_info and status; HTTP basic auth with account SID and auth token) and recording every
request."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from ..local_server import LoopbackServer, Recorded


@dataclass
class TwilioServer(LoopbackServer):
    account_sid: str
    auth_token: str
    requests: list[Recorded] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # path -> (content, content type)
    failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # next Messages.json answers
    sent: int = 0
    media_failures: dict[str, int] = field(default_factory=dict)  # media path -> 503s to answer first

    @property
    def calls_path(self) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}/Calls.json"

    @property
    def messages_path(self) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def media_url(self, name: str, content: bytes, content_type: str) -> str:
        """Publish one MMS media file; returns its URL as Twilio would put it in MediaUrl<n>."""
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages/MM0001/Media/{name}"
        self.media[path] = (content, content_type)
        return self.url + path

    def fail_next(self, status: int, code: int, message: str) -> None:
        body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}"}
        self.failures.append((status, {**body, "status": status}))

    # --- answering ---------------------------------------------------------------------------

    def _reply(self, handler: BaseHTTPRequestHandler, status: int, payload: Any, content_type: str = "") -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type or "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        recorded = Recorded(handler.command, handler.path, dict(handler.headers.items()), body)
        self.requests.append(recorded)
        if recorded.basic_auth() != (self.account_sid, self.auth_token):
            error = {"code": 20003, "message": "Authenticate", "more_info": "", "status": 401}
            return self._reply(handler, 401, error)
        if handler.command == "GET" and self.media_failures.get(handler.path):
            self.media_failures[handler.path] -= 1
            error = {"code": 20500, "message": "Internal Server Error", "more_info": "", "status": 503}
            return self._reply(handler, 503, error)
        if handler.command == "GET" and handler.path in self.media:
            content, content_type = self.media[handler.path]
            return self._reply(handler, 200, content, content_type)
        if handler.command == "POST" and handler.path == self.messages_path:
            if self.failures:
                status, error = self.failures.pop(0)
                return self._reply(handler, status, error)
            form = recorded.form()
            self.sent += 1
            sid = f"SM{self.sent:032x}"
            resource = {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": form.get("To"),
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": form.get("Body"),
                "status": "queued",
                "num_segments": "1",
                "num_media": "0",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "error_code": None,
                "error_message": None,
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            }
            return self._reply(handler, 201, resource)
        if handler.command == "POST" and handler.path == self.calls_path:
            if self.failures:
                status, error = self.failures.pop(0)
                return self._reply(handler, status, error)
            form = recorded.form()
            self.sent += 1
            sid = f"CA{self.sent:032x}"
            resource = {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": form.get("To"),
                "from": form.get("From"),
                "status": "queued",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json",
            }
            return self._reply(handler, 201, resource)
        error = {"code": 20404, "message": "The requested resource was not found", "more_info": "", "status": 404}
        return self._reply(handler, 404, error)
