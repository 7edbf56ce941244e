"""The benchmark command works in a fresh clone: the generator fills an empty database,
resumes where it stopped, and the runner measures and writes its table. Tiny sizes, on a
throwaway database of the same PostgreSQL server as the tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmarks need PostgreSQL")


def _server() -> dict[str, object]:
    d = connection.settings_dict
    return {"host": d["HOST"] or "127.0.0.1", "port": d["PORT"] or 5432, "user": d["USER"], "password": d["PASSWORD"]}


def _admin(sql: str) -> None:
    conn = psycopg2.connect(dbname="postgres", **_server())
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(sql)
    conn.close()


@pytest.fixture
def bench_db():
    name = f"test_bench_{uuid.uuid4().hex[:10]}"
    s = _server()
    auth = f"{s['user']}" + (f":{s['password']}" if s["password"] else "")
    yield name, f"postgres://{auth}@{s['host']}:{s['port']}/{name}"
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(url: str, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "BENCH_DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)  # tasks in-process, as in `make run`
    return subprocess.run(
        [sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _query(name: str, sql: str) -> list[tuple]:
    conn = psycopg2.connect(dbname=name, **_server())
    with conn.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    conn.close()
    return rows


def test_generate_resumes_and_run_all_writes_the_table(bench_db, tmp_path):
    name, url = bench_db
    _admin(f'CREATE DATABASE "{name}"')

    first = _run(url, "bench/generate.py", "--tickets", "60", "--batch", "25", "--agents", "4", "--json")
    assert first.returncode == 0, first.stderr[-2000:]
    assert json.loads(first.stdout.strip().splitlines()[-1])["tickets"] == 60

    # A larger target continues from where the first run stopped: nothing duplicated.
    again = _run(url, "bench/generate.py", "--tickets", "120", "--batch", "25", "--agents", "4", "--json")
    assert again.returncode == 0, again.stderr[-2000:]
    [(tickets, numbers, channels)] = _query(
        name, "SELECT count(*), count(DISTINCT number), count(DISTINCT channel) FROM tickets_ticket"
    )
    assert tickets == numbers == 120
    assert channels >= 5
    [(messages, tickets_with_messages)] = _query(
        name, "SELECT count(*), count(DISTINCT ticket_id) FROM tickets_message"
    )
    assert tickets_with_messages == 120 and messages > 120
    # Unsolved tickets carry SLA deadlines and clocks; searches find the generated text.
    [(unsolved, without_clock)] = _query(
        name,
        "SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM tickets_slaclock c "
        "WHERE c.ticket_id = t.id)) FROM tickets_ticket t WHERE status IN ('new', 'open', 'pending', 'on_hold')",
    )
    assert unsolved > 0 and without_clock == 0
    [(found,)] = _query(
        name,
        "SELECT count(*) FROM tickets_message WHERE to_tsvector('english'::regconfig, COALESCE(body_text, '')) "
        "@@ websearch_to_tsquery('english', 'order')",
    )
    assert found > 0
    # New tickets made by the app after generation get fresh ids and numbers.
    [(seq_ok,)] = _query(
        name, "SELECT (SELECT last_value FROM tickets_ticket_number_seq) >= (SELECT max(number) FROM tickets_ticket)"
    )
    assert seq_ok

    out = tmp_path / "results.md"
    runner = _run(
        url, "bench/run_all.py", "--tickets", "120", "--only", "web", "--requests", "4", "--quick",
        "--output", str(out),
    )  # fmt: skip
    assert runner.returncode == 0, runner.stdout[-2000:] + runner.stderr[-2000:]
    table = out.read_text()
    assert "| benchmark | figure | target | met? |" in table
    for row in ("agent ticket list", "agent search", "ticket page", "dashboard"):
        assert f"| {row}" in table, table
    assert "PostgreSQL 1" in table and "cores" in table
    figures = json.loads(out.with_suffix(".json").read_text())
    assert figures["web"]["figures"]["ticket_page"]["n"] == 4
    assert "| agent ticket list" in runner.stdout  # the table is printed too
