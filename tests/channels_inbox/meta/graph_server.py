"""A local Graph API: http.server in a thread on 127.0.0.1, answering the calls the Meta
adapters make the way graph.facebook.com does (WhatsApp media metadata and download, the
WhatsApp messages endpoint, the Send API at me/messages; Graph error objects with message,
type, code, error_subcode and fbtrace_id; bearer tokens) and recording every request."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from ..local_server import LoopbackServer, Recorded


@dataclass
class GraphServer(LoopbackServer):
    version: str
    tokens: tuple[str, ...]
    requests: list[Recorded] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # media id -> (content, mime type)
    cdn: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # path -> (content, type), no auth
    failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # next POST answers
    sent: int = 0

    def add_media(self, media_id: str, content: bytes, mime_type: str) -> None:
        self.media[media_id] = (content, mime_type)

    def cdn_url(self, name: str, content: bytes, content_type: str) -> str:
        path = f"/cdn/v/t1.15752-9/{name}"
        self.cdn[path] = (content, content_type)
        return self.url + path + "?_nc_cat=1&oh=signed"

    def fail_next(self, status: int, code: int, message: str, subcode: int | None = None) -> None:
        error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf123"}
        if subcode is not None:
            error["error_subcode"] = subcode
        self.failures.append((status, {"error": error}))

    def posts(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

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
        split = urllib.parse.urlsplit(handler.path)
        if handler.command == "GET" and split.path in self.cdn:
            content, content_type = self.cdn[split.path]
            return self._reply(handler, 200, content, content_type)
        if recorded.bearer not in self.tokens:
            error = {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}
            return self._reply(handler, 401, {"error": {**error, "fbtrace_id": "x"}})
        parts = split.path.strip("/").split("/")
        if handler.command == "GET" and split.path == "/whatsapp_business/attachments/":
            mid = urllib.parse.parse_qs(split.query).get("mid", [""])[0]
            if mid in self.media:
                content, mime = self.media[mid]
                return self._reply(handler, 200, content, mime)
        elif handler.command == "GET" and len(parts) == 2 and parts[0] == self.version and parts[1] in self.media:
            content, mime = self.media[parts[1]]
            info = {
                "messaging_product": "whatsapp",
                "url": f"{self.url}/whatsapp_business/attachments/?mid={parts[1]}&ext=1&hash=abc",
                "mime_type": mime,
                "sha256": "x",
                "file_size": len(content),
                "id": parts[1],
            }
            return self._reply(handler, 200, info)
        elif handler.command == "POST" and len(parts) == 3 and parts[0] == self.version and parts[2] == "messages":
            if self.failures:
                status, error = self.failures.pop(0)
                return self._reply(handler, status, error)
            self.sent += 1
            data = recorded.json()
            if parts[1] == "me":
                return self._reply(
                    handler, 200, {"recipient_id": data["recipient"]["id"], "message_id": f"m_OUT{self.sent}"}
                )
            answer = {
                "messaging_product": "whatsapp",
                "contacts": [{"input": data["to"], "wa_id": data["to"]}],
                "messages": [{"id": f"wamid.OUT{self.sent}"}],
            }
            return self._reply(handler, 200, answer)
        error = {"message": "Unsupported get request.", "type": "GraphMethodException", "code": 100, "fbtrace_id": "x"}
        return self._reply(handler, 400, {"error": error})
