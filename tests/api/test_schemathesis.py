"""Property-based run of the whole REST API against its own OpenAPI schema (schemathesis):
every operation, with generated input, authenticated as a manager with a token, through
Django's WSGI application on PostgreSQL. No input may cause a server error.

The number of examples per operation is bounded (SCHEMATHESIS_EXAMPLES, default 6) so the
run takes well under a minute; raise it locally for a deeper search."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from kb.models import Category
from tests.api.conftest import token_for
from tests.factories import CustomerFactory, IdentityFactory, TeamFactory, TicketFactory, make_agent
from tickets.models import Macro

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "6"))


@pytest.fixture
def api_schema(django_db_setup, django_db_blocker, settings) -> Iterator[Any]:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "1000000/minute"}}
    # As Django's test client does: a request must not close the test's database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with django_db_blocker.unblock():
            yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def manager_key(db) -> str:
    """A manager's token and a little data for the generated requests to find."""
    team = TeamFactory(name="Billing")
    mona = make_agent("mona", role="manager", teams=[team])
    customer = CustomerFactory(name="Ana")
    IdentityFactory(customer=customer, value="ana@example.com")
    for _ in range(3):
        TicketFactory(requester=customer, team=team)
    Macro.objects.create(name="Thanks", body="Thank you!")
    Category.objects.create(name="Account", slug="account")
    return token_for(mona)


def _run(operation: Any, key: str) -> None:
    """Generated cases of one operation; raises on the first (shrunk) server error."""

    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        response = case.call(headers={"Authorization": f"Token {key}"})
        case.validate_response(response, checks=[not_a_server_error])

    check()


@pytest.mark.django_db
def test_no_input_makes_the_api_fail_with_a_server_error(api_schema, manager_key, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 40  # the whole API, not an empty schema
    failures = []
    for operation in operations:
        try:
            _run(operation, manager_key)
        except (Exception, BaseExceptionGroup) as exc:  # collected, then reported together
            failures.append(f"{operation.label}: {exc!r}"[:3000])
    assert not failures, "\n\n".join(failures)
