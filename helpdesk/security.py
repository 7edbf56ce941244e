"""Security headers on every response: Content-Security-Policy with a per-request nonce, and
Permissions-Policy. (X-Content-Type-Options, Referrer-Policy, Cross-Origin-Opener-Policy and
HSTS come from Django's SecurityMiddleware, configured in settings.)

The policy allows scripts only from this site, or inline ones carrying the request's nonce:
`<script nonce="{{ request.csp_nonce }}">` (also `{{ csp_nonce }}` with the context
processor below). Styles allow inline attributes (the templates use `style="..."`), which
cannot run code. Nothing may frame a page (`frame-ancestors 'none'`) unless the view sets its
own Content-Security-Policy header, as `/support/embed/` does for the origins in
PORTAL_EMBED_ALLOWED_ORIGINS: a policy a view sets is left as it is.

Settings: CSP_REPORT_URI (empty: no reports), CSP_INLINE_SCRIPT_PATHS (path prefixes whose
pages still carry inline scripts of a third-party package without a nonce; they get
'unsafe-inline' for scripts and nothing else changes), PERMISSIONS_POLICY.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

HEADER = "Content-Security-Policy"
DEFAULT_PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def _nonce() -> str:
    return secrets.token_urlsafe(18)


def content_security_policy(*, nonce: str | None, inline_scripts: bool = False) -> str:
    script = "'self' 'unsafe-inline'" if inline_scripts else f"'self' 'nonce-{nonce}'"
    directives = [
        ("default-src", "'self'"),
        ("script-src", script),
        ("style-src", "'self' 'unsafe-inline'"),
        ("img-src", "'self' data: blob:"),
        ("font-src", "'self' data:"),
        ("connect-src", "'self'"),
        ("media-src", "'self'"),
        ("object-src", "'none'"),
        ("base-uri", "'self'"),
        ("form-action", "'self'"),
        ("frame-ancestors", "'none'"),
    ]
    report_uri = getattr(settings, "CSP_REPORT_URI", "")
    if report_uri:
        directives.append(("report-uri", report_uri))
    return "; ".join(f"{name} {value}" for name, value in directives)


class SecurityHeadersMiddleware:
    """Sets Content-Security-Policy (unless the view set one) and Permissions-Policy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce_holder: dict[str, str] = {}

        def make() -> str:
            nonce_holder.setdefault("nonce", _nonce())
            return nonce_holder["nonce"]

        request.csp_nonce = SimpleLazyObject(make)  # type: ignore[attr-defined]
        response = self.get_response(request)
        if HEADER not in response:
            inline = any(request.path.startswith(p) for p in getattr(settings, "CSP_INLINE_SCRIPT_PATHS", []))
            response[HEADER] = content_security_policy(nonce=None if inline else make(), inline_scripts=inline)
        policy = getattr(settings, "PERMISSIONS_POLICY", DEFAULT_PERMISSIONS_POLICY)
        if policy and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = policy
        return response


def csp_nonce(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `{{ csp_nonce }}` in templates."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
