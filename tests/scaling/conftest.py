"""Real processes for the scale-out tests: web servers (daphne) and Celery workers started as
separate programs against the test database and the real Redis, as they would run on
separate machines."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(name: str | None = None) -> str:
    d = connection.settings_dict
    auth = d["USER"] + (f":{d['PASSWORD']}" if d.get("PASSWORD") else "")
    return f"postgres://{auth}@{d['HOST'] or '127.0.0.1'}:{d['PORT'] or 5432}/{name or d['NAME']}"


class Processes:
    """Starts programs with the test's environment, keeps their output in files, stops them."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.running: list[tuple[subprocess.Popen, Path]] = []

    def start(self, name: str, argv: list[str], **extra_env: str) -> Path:
        log = self.tmp_path / f"{name}.log"
        handle = log.open("wb")
        proc = subprocess.Popen(argv, cwd=ROOT, env={**self.env, **extra_env}, stdout=handle, stderr=subprocess.STDOUT)
        self.running.append((proc, log))
        return log

    def web(self, name: str, **extra_env: str) -> str:
        port = free_port()
        log = self.start(
            name, [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "helpdesk.asgi:application"], **extra_env
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return base
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"web process {name} did not start:\n{log.read_text()[-3000:]}")

    def worker(self, name: str, queues: list[str], **extra_env: str) -> Path:
        log = self.start(
            name,
            [
                str(BIN / "celery"),
                "-A",
                "helpdesk",
                "worker",
                "-l",
                "info",
                "-P",
                "solo",
                "-n",
                f"{name}@%h",
                "-Q",
                ",".join(queues),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            **extra_env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if " ready." in log.read_text(errors="replace"):
                return log
            time.sleep(0.2)
        raise AssertionError(f"worker {name} did not start:\n{log.read_text()[-3000:]}")

    def stop(self) -> None:
        for proc, _log in self.running:
            proc.terminate()
        for proc, _log in self.running:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def processes(transactional_db, tmp_path):
    if not settings.USES_POSTGRES or not settings.REDIS_URL:
        pytest.fail("The scale-out tests need PostgreSQL and Redis (make test provides both).")
    queue = f"helpdesk-mp-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_QUEUE": queue,
        "DEBUG": "0",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABASE_REPLICA_URL", None)
    procs = Processes(tmp_path, env)
    procs.queue = queue
    yield procs
    procs.stop()
