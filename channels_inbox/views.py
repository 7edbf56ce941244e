"""Provider-facing HTTP endpoints (no session, no CSRF: each authenticates its caller)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .email.adapter import max_message_bytes
from .email.http_inbound import email_raw_accept
from .email.mailboxes import mailbox_by_inbound_token

RAW_EMAIL_TYPES = {"message/rfc822", "application/octet-stream", "text/plain", ""}
_CHUNK = 64 * 1024


def _error(status: int, message: str, **extra) -> JsonResponse:
    response = JsonResponse({"error": message, **extra}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="inbound email"'
    return response


def _bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "token") else ""


@csrf_exempt
@require_POST
def inbound_email(request: HttpRequest) -> JsonResponse:
    """A raw RFC 5322 message as the body; `Authorization: Bearer <mailbox inbound token>`.
    202 accepted (processed in the background), 200 duplicate, 401, 413, 415."""
    mailbox = mailbox_by_inbound_token(_bearer_token(request))
    if mailbox is None:
        return _error(401, "Missing or wrong token: send 'Authorization: Bearer <the mailbox's inbound token>'.")
    content_type = request.content_type or ""
    if content_type.lower() not in RAW_EMAIL_TYPES:
        return _error(
            415,
            f"Send the raw message as the body with Content-Type message/rfc822, not {content_type}.",
        )
    limit = max_message_bytes()
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > limit:
        return _error(413, f"The message is larger than the limit of {limit} bytes.", limit_bytes=limit)
    # Read from the stream, not request.body (which is capped at DATA_UPLOAD_MAX_MEMORY_SIZE).
    chunks, size = [], 0
    while size <= limit:
        chunk = request.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        return _error(413, f"The message is larger than the limit of {limit} bytes.", limit_bytes=limit)
    payload = b"".join(chunks)
    if not payload.strip():
        return _error(400, "The body is empty: send the raw message.")
    accepted = email_raw_accept(
        mailbox=mailbox, payload=payload, content_type=content_type, remote_addr=request.META.get("REMOTE_ADDR", "")
    )
    if accepted.duplicate:
        return JsonResponse({"raw_id": accepted.raw.pk, "status": "duplicate"}, status=200)
    return JsonResponse({"raw_id": accepted.raw.pk, "status": "accepted"}, status=202)
