"""Liveness and readiness probes."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"database unreachable: {exc.__class__.__name__}"
    return None


def _check_broker() -> str | None:
    if not settings.REDIS_URL:
        return None  # in-process broker: nothing to reach
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
    except Exception as exc:
        return f"broker unreachable: {exc.__class__.__name__}"
    return None


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """The database and the broker answer; 503 with the failing parts otherwise."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    failing = {name: error for name, error in checks.items() if error}
    body = {
        "status": "ok" if not failing else "unavailable",
        "checks": {name: (error or "ok") for name, error in checks.items()},
    }
    return JsonResponse(body, status=503 if failing else 200)
