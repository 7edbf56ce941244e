"""Per-request account security: idle session timeout, the second factor where it is due,
and a rate limit on failed API token authentication."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from .services import lockout, twofactor

# Pages a person who still owes a second factor may open.
_OPEN_PREFIXES = ("/static/", "/i18n/", "/healthz", "/readyz")
# Where a missing second factor is enforced (the API has its own token auth).
_STAFF_PREFIXES = ("/agent/", "/admin/", "/dashboard/", "/accounts/", "/api/")


class AccountSecurityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api_auth = request.path.startswith("/api/") and "HTTP_AUTHORIZATION" in request.META
        ip = lockout.client_ip(request)
        limit = int(getattr(settings, "API_AUTH_FAILURES_PER_MINUTE", 20))
        if api_auth and lockout.rate_exceeded(scope="api-auth", key=ip, limit=limit):
            response = JsonResponse(
                {"detail": _("Too many failed authentication attempts. Wait a minute and try again.")}, status=429
            )
            response["Retry-After"] = "60"
            return response
        early = self._session_checks(request)
        if early is not None:
            return early
        response = self.get_response(request)
        if api_auth and response.status_code == 401:
            lockout.rate_hit(scope="api-auth", key=ip, limit=limit)
        return response

    def _session_checks(self, request: HttpRequest) -> HttpResponse | None:
        session = getattr(request, "session", None)
        if session is None or SESSION_KEY not in session:
            return None  # anonymous: nothing to check, no query made
        user = request.user
        if not user.is_authenticated:
            return None
        # Last activity lives in the cache, not the session, so requests make no extra writes.
        idle = int(getattr(settings, "SESSION_IDLE_TIMEOUT_MINUTES", 0)) * 60
        if idle and session.session_key:
            key = f"accounts:last-seen:{session.session_key}"
            now = int(time.time())
            last = cache.get(key)
            if last is not None and now - int(last) > idle:
                cache.delete(key)
                logout(request)
                if request.path.startswith("/api/"):
                    return None  # the API answers 401/403 itself
                messages.info(request, _("You were signed out after a period of inactivity. Sign in again."))
                return redirect(f"{reverse(settings.LOGIN_URL)}?next={request.path}")
            if last is None or now - int(last) >= 30:
                cache.set(key, now, idle + 60)
        if request.path.startswith(_OPEN_PREFIXES) or not request.path.startswith(_STAFF_PREFIXES):
            return None
        if getattr(user, "is_verified", lambda: True)():
            return None
        if request.path in _open_paths():
            return None
        if twofactor.user_has_device_cached(user):
            return redirect(f"{reverse('accounts:two_factor_verify')}?next={request.path}")
        if twofactor.two_factor_required(user):
            messages.info(request, _("Administrators must turn on two-factor sign-in before going on."))
            return redirect("accounts:two_factor_setup")
        return None


def _open_paths() -> set[str]:
    return {
        reverse("accounts:two_factor_verify"),
        reverse("accounts:two_factor_setup"),
        reverse("agent:logout"),
        reverse("agent:login"),
    }
