"""What every endpoint shares: the error format, throttling, the schema and the docs."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.api.conftest import assert_error
from tests.factories import make_agent

pytestmark = pytest.mark.django_db


def test_unknown_objects_and_methods_use_the_error_format(desk, client_for):
    client = client_for(desk["alice"])
    assert_error(client.get("/api/v1/tickets/999999999/"), 404, "not_found")
    assert_error(client.get("/api/v1/customers/999999999/"), 404, "not_found")
    assert_error(client.delete("/api/v1/customers/1/"), 405, "method_not_allowed")
    bad_json = client.post("/api/v1/tickets/", "{not json", content_type="application/json")
    assert_error(bad_json, 400, "parse_error")


def test_too_many_requests_get_429_with_retry_after(desk, client_for, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "3/minute"}}
    # Counters live in the cache, keyed by user id; start this test's users from none.
    cache.delete_many([f"throttle_api_{user.pk}" for user in (desk["alice"], desk["mona"])])
    client = client_for(desk["alice"])
    for _ in range(3):
        assert client.get("/api/v1/tickets/").status_code == 200
    response = client.get("/api/v1/tickets/")
    assert_error(response, 429, "throttled", "try again in")
    assert 1 <= int(response["Retry-After"]) <= 60
    # Another user has their own allowance.
    assert client_for(desk["mona"]).get("/api/v1/tickets/").status_code == 200


def test_the_schema_is_openapi_3_with_the_token_scheme_and_ticket_examples():
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["TokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schema["components"]["securitySchemes"]["TokenAuth"]["description"],
    }
    paths = schema["paths"]
    for path in (
        "/api/v1/tickets/",
        "/api/v1/tickets/{number}/",
        "/api/v1/tickets/{ticket_number}/messages/",
        "/api/v1/tickets/{ticket_number}/events/",
        "/api/v1/customers/",
        "/api/v1/organizations/",
        "/api/v1/teams/",
        "/api/v1/tags/",
        "/api/v1/agents/",
    ):
        assert path in paths, path
    create = paths["/api/v1/tickets/"]["post"]
    assert create["requestBody"]["content"]["application/json"]["examples"]
    assert {"TokenAuth": []} in create["security"]
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    list_params = {p["name"] for p in paths["/api/v1/tickets/"]["get"]["parameters"]}
    assert {"cursor", "status", "updated_since", "ordering", "tag"} <= list_params


def test_the_docs_page_serves_swagger_ui_from_this_server_not_a_cdn():
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    # The page's own script comes from this server too (no inline script: the CSP forbids it).
    script = APIClient().get("/api/docs/?script=").content.decode()
    assert "swagger-ui" in html and "/api/schema/" in script and "<script>" not in html.replace(" ", "")
    for text in (html, script):
        assert "cdn." not in text and "jsdelivr" not in text and "unpkg" not in text


def test_a_browser_session_of_an_agent_can_use_the_api_too():
    client = APIClient()
    client.force_login(make_agent("sam"))
    assert client.get("/api/v1/tickets/").status_code == 200
