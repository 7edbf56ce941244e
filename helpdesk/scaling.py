"""Running past one machine on existing engines: Celery queues per kind of work, reports read
from a PostgreSQL replica, Redis behind Sentinel. Every piece is off until its setting is given
(README, "Scaling out"), so one machine keeps the simple layout.

- `route_task`: with CELERY_SPLIT_QUEUES on, sends each task to `<queue>.ingest`,
  `<queue>.outbound`, `<queue>.sla` or `<queue>.reports` so each kind of work gets its own
  workers (a slow report never delays an inbound message).
- `ReplicaRouter` + `ReportsOnReplicaMiddleware`: with DATABASE_REPLICA_URL set, the reads of
  dashboard and metrics requests go to the replica; every write, and every other request,
  stays on the primary.
- `redis_sentinel_settings`: with REDIS_SENTINELS set, the broker, cache and channel layer
  find the Redis master through Sentinel and follow a failover.
"""

from __future__ import annotations

import contextlib
import contextvars
import fnmatch
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# --- Celery queues -------------------------------------------------------------------------------

QUEUE_KINDS = ("ingest", "outbound", "sla", "reports")

# First match wins. Task names are the `name=` of each task; patterns cover tasks added later
# under the same prefixes.
TASK_QUEUE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("tickets.message_deliver", "outbound"),
    ("webhooks.*", "outbound"),
    ("*webhook*", "outbound"),
    ("*.send*", "outbound"),
    ("channels_inbox.*", "ingest"),
    ("tickets.message_ingested", "ingest"),
    ("routing.*", "ingest"),
    ("tickets.sla_*", "sla"),
    ("automation.*", "sla"),
    ("*sweep*", "sla"),
    ("metrics.*", "reports"),
    ("kb.*", "reports"),
)


def queue_kind_for(task_name: str) -> str | None:
    """The kind of work a task is (`ingest`, `outbound`, `sla`, `reports`), or None for the
    default queue."""
    for pattern, kind in TASK_QUEUE_PATTERNS:
        if fnmatch.fnmatchcase(task_name, pattern):
            return kind
    return None


def queue_names(prefix: str | None = None) -> list[str]:
    """Every queue a worker must consume to do all the work: the default one and one per kind."""
    base = prefix or settings.CELERY_TASK_DEFAULT_QUEUE
    return [base, *(f"{base}.{kind}" for kind in QUEUE_KINDS)]


def route_task(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any) -> dict | None:
    """Celery router (CELERY_TASK_ROUTES). Off unless CELERY_SPLIT_QUEUES: then everything
    stays on the default queue and one worker does all the work."""
    if not getattr(settings, "CELERY_SPLIT_QUEUES", False):
        return None
    kind = queue_kind_for(name)
    if kind is None:
        return None
    from helpdesk.celery import app

    return {"queue": f"{app.conf.task_default_queue}.{kind}"}


# --- Reports on a read replica -----------------------------------------------------------------------

REPLICA_ALIAS = "replica"
_reports: contextvars.ContextVar[bool] = contextvars.ContextVar("helpdesk_reports_on_replica", default=False)


@contextlib.contextmanager
def reports_on_replica() -> Iterator[None]:
    """Within this block, reads go to the replica when one is configured."""
    token = _reports.set(True)
    try:
        yield
    finally:
        _reports.reset(token)


class ReplicaRouter:
    """Reads of report requests go to the replica; writes and migrations to the primary."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        if _reports.get() and REPLICA_ALIAS in settings.DATABASES:
            return REPLICA_ALIAS
        return None

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the replica holds the same rows as the primary

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        return db == "default"


class ReportsOnReplicaMiddleware:
    """Serve GET requests under REPORTS_PATH_PREFIXES (the dashboard, the metrics API) from
    the replica. The signed-in user and session are loaded from the primary first, so a
    replica that lags never signs anyone out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            REPLICA_ALIAS in settings.DATABASES
            and request.method in ("GET", "HEAD")
            and request.path.startswith(tuple(settings.REPORTS_PATH_PREFIXES))
        ):
            user = getattr(request, "user", None)
            if user is not None:
                bool(user.is_authenticated)  # evaluate the lazy user on the primary
            with reports_on_replica():
                return self.get_response(request)
        return self.get_response(request)


# --- Redis Sentinel -------------------------------------------------------------------------------------


def parse_sentinels(value: str) -> list[tuple[str, int]]:
    """`host:port,host:port` -> [(host, port), ...]; a clear error for anything else."""
    from django.core.exceptions import ImproperlyConfigured

    result = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ImproperlyConfigured(f"REDIS_SENTINELS entry {item!r} is not host:port.")
        result.append((host.strip("[]"), int(port)))
    if not result:
        raise ImproperlyConfigured("REDIS_SENTINELS is set but names no host:port.")
    return result


def redis_sentinel_settings(
    *, sentinels: list[tuple[str, int]], master: str, db: int, password: str, channel_prefix: str
) -> dict[str, Any]:
    """Broker, result backend, cache and channel layer settings that find the master through
    Sentinel. Returned as a dict of setting names to values."""
    broker = ";".join(f"sentinel://{host}:{port}/{db}" for host, port in sentinels)
    transport = {"master_name": master}
    if password:
        transport["sentinel_kwargs"] = {"password": password}
    master_spec: dict[str, Any] = {"sentinels": sentinels, "master_name": master, "db": db}
    if password:
        master_spec["password"] = password
    return {
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "CELERY_BROKER_TRANSPORT_OPTIONS": transport,
        "CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS": transport,
        "CACHES": {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": f"redis://{master}/{db}",
                "OPTIONS": {
                    "CLIENT_CLASS": "django_redis.client.SentinelClient",
                    "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
                    "CONNECTION_POOL_CLASS": "redis.sentinel.SentinelConnectionPool",
                    "SENTINELS": sentinels,
                    **({"PASSWORD": password} if password else {}),
                },
            }
        },
        "CHANNEL_LAYERS": {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [master_spec], "prefix": channel_prefix},
            }
        },
    }
