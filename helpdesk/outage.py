"""Answering "try again later" while the database or Redis is unreachable.

A request that fails because PostgreSQL or Redis (broker, cache) cannot be reached gets
503 Service Unavailable with a Retry-After header, never a 500 traceback page: providers
(Twilio, Meta, Telegram, an MTA posting to /inbound/email/) and API clients treat a 503 as
"deliver again later", and every inbound payload is recognised by its provider id when it
comes again, so the retry is taken in exactly once.

Two hooks catch such errors: OutageMiddleware.process_exception for errors raised in a view
(including a task queued after commit), and `server_error`, the project's handler500, for
errors raised in a middleware (sessions, the cache-backed rate limits).

Setting: OUTAGE_RETRY_AFTER_SECONDS (30), the Retry-After value.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults

logger = logging.getLogger(__name__)


def _outage_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OperationalError, InterfaceError]
    try:
        import redis.exceptions

        errors += [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError]
    except ImportError:  # pragma: no cover - redis is a dependency
        pass
    try:
        import kombu.exceptions

        errors.append(kombu.exceptions.OperationalError)  # the broker refused or vanished
    except ImportError:  # pragma: no cover - kombu comes with Celery
        pass
    return tuple(errors)


OUTAGE_ERRORS = _outage_errors()


def is_outage(exc: BaseException | None) -> bool:
    """The error means a backing service could not be reached (or dropped the connection)."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, OUTAGE_ERRORS):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def retry_after_seconds() -> int:
    return max(1, int(getattr(settings, "OUTAGE_RETRY_AFTER_SECONDS", 30)))


def outage_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """503 with Retry-After; JSON for machines (the API, provider webhooks), text otherwise.
    Nothing here touches the database or the cache."""
    logger.error("Service unavailable for %s %s: %s: %s", request.method, request.path, exc.__class__.__name__, exc)
    message = _("The service is briefly unavailable. Try again in a moment.")
    if request.path.startswith(("/api/", "/inbound/")) or "json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse({"detail": message, "retryable": True}, status=503)
    else:
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(retry_after_seconds())
    response["Cache-Control"] = "no-store"
    return response


class OutageMiddleware:
    """Turns a database or Redis outage raised by a view into 503 + Retry-After."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_outage(exception):
            return outage_response(request, exception)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an outage raised outside a view also answers 503; anything else is the
    usual 500 page."""
    exc = sys.exc_info()[1]
    if is_outage(exc):
        return outage_response(request, exc)  # type: ignore[arg-type]
    return defaults.server_error(request)
