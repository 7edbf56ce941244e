"""The web channel adapter: a form submission, kept raw as JSON, turned into an inbound message.

The payload is what the browser sent, after form validation, as one JSON document:

    {"version": 1, "submission_id": "<uuid4 hex>", "name": "...", "email": "...",
     "subject": "...", "description": "...", "category": "...", "ticket_number": null,
     "language": "pt-br", "attachments": [{"filename", "content_type", "size", "content_b64"}]}

Attachments travel inside the payload (base64; the portal limits their size), so a stored
payload replays to the same message with the same files. The submission id is the external
id of both the raw payload and the message: a replay or a double submit stores nothing twice.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tickets.inbound import InboundAttachment, InboundMessage, InboundSender
from tickets.models import IdentityKind, RawInbound

from .. import registry

PAYLOAD_VERSION = 1
CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class WebUpload:
    filename: str
    content_type: str
    content: bytes


def webform_external_id(submission_id: str) -> str:
    return f"web:{submission_id}"


def webform_payload(
    *,
    name: str,
    email: str,
    subject: str,
    description: str,
    category: str = "",
    ticket_number: int | None = None,
    language: str = "",
    uploads: Iterable[WebUpload] = (),
    submission_id: str | None = None,
) -> tuple[str, bytes]:
    """(submission id, JSON bytes) for one submission."""
    submission_id = submission_id or uuid.uuid4().hex
    document = {
        "version": PAYLOAD_VERSION,
        "submission_id": submission_id,
        "name": name,
        "email": email,
        "subject": subject,
        "description": description,
        "category": category,
        "ticket_number": ticket_number,
        "language": language,
        "attachments": [
            {
                "filename": item.filename,
                "content_type": item.content_type,
                "size": len(item.content),
                "content_b64": base64.b64encode(item.content).decode("ascii"),
            }
            for item in uploads
        ],
    }
    return submission_id, json.dumps(document, ensure_ascii=False).encode("utf-8")


def _attachments(items: Any) -> tuple[InboundAttachment, ...]:
    if not isinstance(items, list):
        raise registry.AdapterError("attachments must be a list.")
    result = []
    for item in items:
        if not isinstance(item, Mapping):
            raise registry.AdapterError("Each attachment must be an object.")
        try:
            content = base64.b64decode(str(item.get("content_b64", "")), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise registry.AdapterError(f"Attachment {item.get('filename')!r} is not valid base64.") from exc
        result.append(
            InboundAttachment(
                filename=str(item.get("filename") or "attachment"),
                content_type=str(item.get("content_type") or "application/octet-stream"),
                content=content,
            )
        )
    return tuple(result)


class WebFormAdapter(registry.ChannelAdapter):
    key = "web"

    def verify(self, *, body: bytes, headers: Mapping[str, str], url: str) -> bool:
        # Submissions come through our own views (CSRF-protected), never from a provider.
        return False

    def external_id(self, *, body: bytes, headers: Mapping[str, str]) -> str | None:
        try:
            submission_id = json.loads(body)["submission_id"]
        except (ValueError, KeyError, TypeError):
            return None
        return webform_external_id(str(submission_id)) if submission_id else None

    def parse(self, raw: RawInbound) -> list[InboundMessage]:
        try:
            document = json.loads(bytes(raw.payload).decode("utf-8"))
        except ValueError as exc:
            raise registry.AdapterError(f"The web form payload is not JSON: {exc}") from exc
        if not isinstance(document, dict) or document.get("version") != PAYLOAD_VERSION:
            raise registry.AdapterError("The web form payload has an unknown version.")
        email = str(document.get("email") or "").strip()
        if not email:
            raise registry.AdapterError("The web form payload names no email address.")
        submission_id = str(document.get("submission_id") or "")
        ticket_number = document.get("ticket_number")
        category = str(document.get("category") or "")
        return [
            InboundMessage(
                channel=self.key,
                sender=InboundSender(kind=IdentityKind.EMAIL, value=email, name=str(document.get("name") or "")),
                subject=str(document.get("subject") or ""),
                body_text=str(document.get("description") or ""),
                external_id=webform_external_id(submission_id) if submission_id else raw.external_id,
                ticket_number=int(ticket_number) if ticket_number else None,
                attachments=_attachments(document.get("attachments") or []),
                language=str(document.get("language") or ""),
                metadata={"category": category} if category else {},
            )
        ]


def register_web_adapter() -> None:
    """Register the web channel once (idempotent, so tests may call it too)."""
    if "web" not in registry.registered():
        registry.register(WebFormAdapter())
