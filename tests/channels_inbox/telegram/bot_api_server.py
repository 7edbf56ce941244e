"""A local Telegram Bot API server: http.server in a thread on 127.0.0.1, answering
sendMessage, getFile and file downloads in the Bot API's documented JSON format
(https://core.telegram.org/bots/api#making-requests) and recording every request."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from ..local_server import LoopbackServer, Recorded


def multipart_fields(body: bytes, content_type: str) -> dict[str, tuple[Any, dict[str, str]]]:
    """name -> (value: str for fields, bytes for files; {"filename", "content_type"}) of a
    multipart/form-data body, parsed with the standard library's email parser."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields: dict[str, tuple[Any, dict[str, str]]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        if filename is None:
            fields[name] = (payload.decode(), {})
        else:
            fields[name] = (payload, {"filename": filename, "content_type": part.get_content_type()})
    return fields


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class BotApiServer(LoopbackServer):
    token: str
    requests: list[Recorded] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # file_id -> content
    failures: dict[str, list[Failure]] = field(default_factory=dict)  # Bot API method -> next answers
    next_message_id: int = 9000
    serve_any_file: bool = False  # answer every file_id with made-up bytes (for the corpus)

    def fail_next(self, method: str, status: int, description: str, retry_after: int | None = None) -> None:
        self.failures.setdefault(method, []).append(Failure(status, description, retry_after))

    def calls(self, method: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == f"/bot{self.token}/{method}"]

    # --- answering ---------------------------------------------------------------------------

    def _reply(self, handler: BaseHTTPRequestHandler, status: int, payload: Any, content_type: str = "") -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type or "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        path = handler.path
        self.requests.append(Recorded(handler.command, path, dict(handler.headers.items()), body))
        file_prefix = f"/file/bot{self.token}/"
        if path.startswith(file_prefix):
            file_id = path[len(file_prefix) :].split("/", 1)[-1].rsplit(".", 1)[0]
            if file_id not in self.files:
                return self._reply(handler, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return self._reply(handler, 200, self.files[file_id], "application/octet-stream")
        prefix = f"/bot{self.token}/"
        if not path.startswith(prefix):
            return self._reply(handler, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        method = path[len(prefix) :]
        queued = self.failures.get(method)
        if queued:
            failure = queued.pop(0)
            answer: dict[str, Any] = {"ok": False, "error_code": failure.status, "description": failure.description}
            if failure.retry_after is not None:
                answer["parameters"] = {"retry_after": failure.retry_after}
            return self._reply(handler, failure.status, answer)
        content_type = handler.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            params = {name: value for name, (value, _meta) in multipart_fields(body, content_type).items()}
        else:
            params = json.loads(body or b"{}")
        if method in ("sendPhoto", "sendDocument"):
            self.next_message_id += 1
            kind = "photo" if method == "sendPhoto" else "document"
            result = {
                "message_id": self.next_message_id,
                "from": {"id": 1, "is_bot": True, "first_name": "Help desk", "username": "desk_bot"},
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "date": 1700000000,
                kind: [{"file_id": f"sent-{self.next_message_id}"}] if kind == "photo" else {"file_id": "d"},
            }
            return self._reply(handler, 200, {"ok": True, "result": result})
        if method == "getFile":
            file_id = params.get("file_id", "")
            if self.serve_any_file:
                self.files.setdefault(file_id, f"content of {file_id}".encode())
            if file_id not in self.files:
                answer = {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}
                return self._reply(handler, 400, answer)
            result = {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "file_size": len(self.files[file_id]),
                "file_path": f"documents/{file_id}.bin",
            }
            return self._reply(handler, 200, {"ok": True, "result": result})
        if method == "sendMessage":
            self.next_message_id += 1
            result = {
                "message_id": self.next_message_id,
                "from": {"id": 1, "is_bot": True, "first_name": "Help desk", "username": "desk_bot"},
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "date": 1700000000,
                "text": params.get("text", ""),
            }
            return self._reply(handler, 200, {"ok": True, "result": result})
        return self._reply(handler, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
