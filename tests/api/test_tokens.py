"""API tokens: hashed at rest, shown once, scoped, expiring, revocable; 401s that say why."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from apitokens.models import ApiToken
from apitokens.services import api_token_authenticate, api_token_create, api_token_revoke, scopes_for
from tests.api.conftest import assert_error, token_for
from tests.factories import make_agent

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_only_a_hash_and_a_short_prefix_of_the_key_are_stored():
    token, key = api_token_create(user=make_agent("alice"), name="CRM")
    token.refresh_from_db()
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith(token.prefix) and len(token.prefix) < 16
    stored = [str(v) for v in ApiToken.objects.filter(pk=token.pk).values().get().values()]
    assert key not in stored


def test_a_valid_token_authenticates_and_an_absent_one_gets_401():
    alice = make_agent("alice")
    assert _client(token_for(alice)).get(TICKETS).status_code == 200
    response = APIClient().get(TICKETS)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.parametrize(
    "header, message",
    [
        ("Token hd_not-a-real-key", "Invalid API token."),
        ("Token", "Malformed Authorization header"),
        ("Token two parts", "Malformed Authorization header"),
    ],
)
def test_bad_tokens_get_401_saying_why(header, message):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_error(client.get(TICKETS), 401, "authentication_failed", message)


def test_an_expired_token_gets_401_saying_it_expired():
    key = token_for(make_agent("alice"), expires_at=timezone.now() - timedelta(minutes=1))
    assert_error(_client(key).get(TICKETS), 401, "authentication_failed", "expired")


def test_a_revoked_token_stops_working_at_once():
    token, key = api_token_create(user=make_agent("alice"))
    assert _client(key).get(TICKETS).status_code == 200
    api_token_revoke(token=token)
    assert_error(_client(key).get(TICKETS), 401, "authentication_failed", "revoked")


def test_a_token_of_a_deactivated_user_gets_401():
    alice = make_agent("alice")
    key = token_for(alice)
    alice.is_active = False
    alice.save()
    assert_error(_client(key).get(TICKETS), 401, "authentication_failed", "inactive")


def test_a_read_only_token_can_read_but_not_write(desk):
    client = _client(token_for(desk["alice"], "read"))
    assert client.get(TICKETS).status_code == 200
    number = desk["tickets"]["billing"].number
    assert_error(
        client.patch(f"{TICKETS}{number}/", {"priority": "high"}, format="json"), 403, "permission_denied", "read-only"
    )
    assert_error(
        client.post(f"{TICKETS}{number}/messages/", {"body_text": "hi", "is_internal": True}, format="json"),
        403,
        "permission_denied",
        "read-only",
    )
    desk["tickets"]["billing"].refresh_from_db()
    assert desk["tickets"]["billing"].priority == "normal"


def test_last_used_is_written_at_most_once_a_minute(django_assert_num_queries):
    token, key = api_token_create(user=make_agent("alice"))
    assert token.last_used_at is None
    first = api_token_authenticate(key=key)
    assert first.last_used_at is not None
    # Within the minute: one SELECT, no UPDATE.
    with django_assert_num_queries(1):
        api_token_authenticate(key=key)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    with django_assert_num_queries(2):
        again = api_token_authenticate(key=key)
    assert timezone.now() - again.last_used_at < timedelta(seconds=5)


def test_create_api_token_prints_a_working_key_on_its_last_line(desk):
    out, err = StringIO(), StringIO()
    call_command(
        "create_api_token",
        "alice",
        "--name",
        "CRM sync",
        "--scope",
        "read",
        "--expires-days",
        "30",
        stdout=out,
        stderr=err,
    )
    key = out.getvalue().strip().splitlines()[-1]
    assert "not stored" in err.getvalue()
    token = ApiToken.objects.get(name="CRM sync")
    assert token.scopes == ["read"] and token.expires_at > timezone.now() + timedelta(days=29)
    client = _client(key)
    assert client.get(TICKETS).status_code == 200
    assert client.post(TICKETS, {}, format="json").status_code == 403


def test_create_api_token_defaults_to_write_and_refuses_unknown_users():
    make_agent("bob")
    out = StringIO()
    call_command("create_api_token", "bob", stdout=out, stderr=StringIO())
    assert ApiToken.objects.get().scopes == scopes_for("write")
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("create_api_token", "ghost", stdout=StringIO(), stderr=StringIO())


def test_the_admin_shows_a_new_key_once_and_revokes_tokens(client):
    admin = make_agent("root", role="admin")
    client.force_login(admin)
    response = client.post(
        "/admin/apitokens/apitoken/add/",
        {"user": admin.pk, "name": "From admin", "scopes": ["read"], "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(name="From admin")
    shown = [str(m) for m in response.context["messages"]]
    key = next(m for m in shown if "New API token" in m).split(": ", 1)[1].split(" ")[0]
    assert hashlib.sha256(key.encode()).hexdigest() == token.key_hash
    page = client.get(f"/admin/apitokens/apitoken/{token.pk}/change/").content.decode()
    assert key not in page and token.key_hash not in page
    client.post("/admin/apitokens/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert_error(_client(key).get(TICKETS), 401, "authentication_failed", "revoked")
