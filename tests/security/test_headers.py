"""Security headers on pages, and the production settings pass `manage.py check --deploy`."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in header.split("; ")}


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/agent/login/")
    policy = _policy(response)
    assert policy["default-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'self'"
    assert policy["form-action"] == "'self'"
    script = policy["script-src"]
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert re.fullmatch(r"'self' 'nonce-[A-Za-z0-9_-]{20,}'", script)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_the_nonce_is_new_for_every_response(client):
    first = _policy(client.get("/agent/login/"))["script-src"]
    second = _policy(client.get("/agent/login/"))["script-src"]
    assert first != second


@pytest.mark.django_db
def test_templates_have_no_inline_event_handlers_on_the_sign_in_page(client):
    body = client.get("/agent/login/").content.decode()
    assert not re.search(r"\son[a-z]+=", body), "inline handlers are blocked by the CSP"
    assert "<script>" not in body


@pytest.mark.django_db
def test_the_embeddable_form_keeps_its_own_frame_ancestors(client, settings):
    settings.PORTAL_EMBED_ALLOWED_ORIGINS = ["https://www.acme.example"]
    response = client.get("/support/embed/")
    assert "frame-ancestors https://www.acme.example" in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response
    # Every other support page may not be framed.
    assert "frame-ancestors 'none'" in client.get("/support/")["Content-Security-Policy"]


@pytest.mark.django_db
def test_hsts_is_sent_on_https_in_production_mode(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/agent/login/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in client.get("/agent/login/")  # never over plain HTTP


def test_production_defaults_turn_hsts_on_when_debug_is_off():
    code = "from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_HTTPONLY)"
    env = {**os.environ, "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "helpdesk.settings"}
    env.pop("SECURE_HSTS_SECONDS", None)
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout.split() == ["31536000", "True"], out.stderr


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_secure_and_httponly_when_configured(client, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    from tests.factories import make_agent

    make_agent("cookie-agent", password="pw-cookie-agent-1")
    response = client.post("/agent/login/", {"username": "cookie-agent", "password": "pw-cookie-agent-1"})
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"] and session["httponly"]
    csrf = client.get("/agent/login/").cookies.get(settings.CSRF_COOKIE_NAME) or response.cookies.get(
        settings.CSRF_COOKIE_NAME
    )
    assert csrf is None or csrf["secure"]


PRODUCTION_ENV = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "help.example.com",
    "SECURE_COOKIES": "1",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
}


def test_check_deploy_is_clean_with_the_documented_production_settings():
    env = {**os.environ, **PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(64)}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser fixtures, never in deployment
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--tag", "security", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout, out.stdout
    # The full deploy check (every tag) has no security finding and no error either.
    full = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert full.returncode == 0, full.stdout + full.stderr
    assert "security." not in full.stdout + full.stderr


def test_check_deploy_warns_about_the_development_defaults():
    env = {**os.environ, "DEBUG": "0"}
    for name in PRODUCTION_ENV:
        env.pop(name, None)
    env.pop("SECRET_KEY", None)
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    found = set(re.findall(r"security\.W0\d\d", out.stdout + out.stderr))
    assert {"security.W009", "security.W012", "security.W016", "security.W008"} <= found, out.stdout + out.stderr
