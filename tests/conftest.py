"""Project-wide test fixtures: the real-services guard, Celery mode and a real Celery worker.

Under `make test` REDIS_URL is set, so the settings give a Redis cache, a Redis channel layer
and a Celery app that sends tasks to the broker. Ordinary tests run tasks in-process (eager,
errors propagate); a test that asks for `celery_worker` gets a real worker thread consuming
from Redis instead, with eager mode off for that test only.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from helpdesk.celery import app as celery_app

# One queue per test run, so messages left on the broker by an earlier run are never consumed.
TEST_QUEUE = f"helpdesk-test-{uuid.uuid4().hex[:12]}"


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("HELPDESK_TEST_REQUIRE_POSTGRES") == "1" and not settings.USES_POSTGRES:
        raise pytest.UsageError(
            "The test suite must run on PostgreSQL under `make test`, but the database is "
            f"{settings.DATABASES['default']['ENGINE']!r}. Set DATABASE_URL=postgres://... "
            "(scripts/test-services.sh does this) or unset HELPDESK_TEST_REQUIRE_POSTGRES."
        )


def _redis_db(url: str) -> int:
    path = urlsplit(url).path.strip("/")
    return int(path) if path.isdigit() else 0


@pytest.fixture(scope="session", autouse=True)
def _redis_test_db_flushed():
    """Start from an empty Redis test database (never database 0, which may hold real data)."""
    if settings.REDIS_URL and _redis_db(settings.REDIS_URL) != 0:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).flushdb()
    yield


@pytest.fixture(autouse=True)
def _celery_eager(request: pytest.FixtureRequest):
    """Run tasks in-process for every test that does not ask for a real worker."""
    if "celery_worker" in request.fixturenames:
        yield
        return
    saved = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker thread consuming from the Redis broker, for one test.

    The test needs `@pytest.mark.django_db(transaction=True)`: the worker runs on its own
    database connection and only sees committed rows. Tasks go to a queue unique to this
    test run. Yields the worker (its `hostname` identifies tasks it ran)."""
    if not settings.REDIS_URL:
        pytest.fail("celery_worker needs a real broker: set REDIS_URL (make test does).")
    from celery.contrib.testing.worker import start_worker

    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.task_default_queue)
    conf.task_always_eager = False
    conf.task_default_queue = TEST_QUEUE
    try:
        with start_worker(
            celery_app,
            pool="solo",
            concurrency=1,
            perform_ping_check=False,
            queues=[TEST_QUEUE],
            loglevel="WARNING",
            shutdown_timeout=30,
        ) as worker:
            yield worker
    finally:
        conf.task_always_eager, conf.task_default_queue = saved


@pytest.fixture(autouse=True)
def _loopback_targets_allowed(settings):
    """Test receivers listen on 127.0.0.1; the SSRF guard refuses loopback unless allowed.
    Tests of the guard itself set NETGUARD_ALLOW to what they need."""
    settings.NETGUARD_ALLOW = ["127.0.0.1"]
