"""`Idempotency-Key` on creating POSTs: a retry of the same request (same key, same token)
gets the first response back, marked `Idempotent-Replayed: true`, and creates nothing twice.

Only successful (2xx) responses are remembered, for 24 hours; after an error the client may
retry with the same key. The same key with a different request body is refused (422), and
a retry while the first request is still running gets 409."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.db import transaction
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from apitokens.models import ApiToken
from apitokens.services import (
    idempotency_claim,
    idempotency_complete,
    idempotency_release,
    request_fingerprint,
)

from .exceptions import Conflict, UnprocessableRequest

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def _owner(request: Request) -> str:
    if isinstance(request.auth, ApiToken):
        return f"token:{request.auth.pk}"
    return f"user:{request.user.pk}"


def idempotent(request: Request, handler: Callable[[], Response]) -> Response:
    key = (request.headers.get(HEADER) or "").strip()
    if not key:
        return handler()
    if len(key) > MAX_KEY_LENGTH:
        raise UnprocessableRequest(
            f"An {HEADER} may be at most {MAX_KEY_LENGTH} characters long.", code="idempotency_key_invalid"
        )
    body = json.dumps(request.data, sort_keys=True, default=str).encode()
    claim = idempotency_claim(
        owner=_owner(request),
        key=key,
        fingerprint=request_fingerprint(method=request.method or "", path=request.get_full_path(), body=body),
    )
    if claim.conflict == "mismatch":
        raise UnprocessableRequest(
            f"This {HEADER} was already used for a different request; use a new key for a new request.",
            code="idempotency_key_reused",
        )
    if claim.conflict == "in_progress":
        raise Conflict(
            f"A request with this {HEADER} is still being processed; retry in a moment.", code="idempotency_in_progress"
        )
    if claim.record is None:
        return Response(claim.replay_body, status=claim.replay_status, headers={"Idempotent-Replayed": "true"})

    record = claim.record
    try:
        # The creation and the remembered response commit together, or neither does.
        with transaction.atomic():
            response = handler()
            if 200 <= response.status_code < 300:
                stored = json.loads(JSONRenderer().render(response.data) or b"null")
                idempotency_complete(record=record, status=response.status_code, body=stored)
    except BaseException:
        idempotency_release(record=record)
        raise
    if not 200 <= response.status_code < 300:
        idempotency_release(record=record)
    return response
