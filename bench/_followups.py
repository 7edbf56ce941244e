"""Follow-up tasks in the ingest benchmarks (bench/ingest.py, bench/email_ingest.py).

Ingest stores a message and queues one follow-up task after commit (SLA, routing, triggers,
notifications, webhooks, live pushes). In production the follow-ups run on other workers.

- "queued": Celery publishes to an in-process memory broker and nothing runs them while the
  ingest is timed (the cost of queueing them is counted); `drain()` then runs them all in this
  process, timed separately, so "ingest with its follow-ups in one process" can be reported too.
- "inline": Celery runs every task in-process at commit (eager), as `make run` does.
"""

from __future__ import annotations

import time
from typing import Any


def followups_queued() -> None:
    from helpdesk.celery import app

    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://"


def drain(*, queries: list[int] | None = None) -> tuple[int, float]:
    """Run every queued task (and whatever those queue) in this process. Returns (tasks, seconds)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from helpdesk.celery import app
    from helpdesk.scaling import queue_names

    ran, started = 0, time.perf_counter()
    with app.connection_for_read() as conn:
        channel = conn.default_channel
        while True:
            got = False
            for queue in queue_names():
                try:
                    message = channel.basic_get(queue, no_ack=True)
                except Exception:  # noqa: BLE001 - a queue nobody published to is not declared
                    message = None
                if message is None:
                    continue
                got = True
                body: Any = message.decode()
                args, kwargs = body[0], body[1]
                task = app.tasks[message.headers["task"]]
                with CaptureQueriesContext(connection) as ctx:
                    task.apply(args=args, kwargs=kwargs)
                if queries is not None:
                    queries.append(len(ctx.captured_queries))
                ran += 1
            if not got:
                break
    return ran, time.perf_counter() - started


class SqlTimer:
    """Wall time spent waiting for PostgreSQL (statements and commits) while active, so a
    benchmark can say how much of a message's time is the database and how much is Python."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.statements = 0

    def __enter__(self) -> SqlTimer:
        from django.db import connection

        self._connection = connection
        self._wrapper_cm = connection.execute_wrapper(self._wrap)
        self._wrapper_cm.__enter__()
        self._commit = connection._commit
        connection._commit = self._timed_commit  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: Any) -> None:
        self._connection._commit = self._commit  # type: ignore[method-assign]
        self._wrapper_cm.__exit__(*exc)

    def _wrap(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - t0
            self.statements += 1

    def _timed_commit(self) -> Any:
        t0 = time.perf_counter()
        try:
            return self._commit()
        finally:
            self.seconds += time.perf_counter() - t0
            self.statements += 1
