"""REST API under concurrent load: requests per second and latency (p50 / p95) of the ticket
list and ticket create, against a real ASGI server (daphne) this script starts on loopback.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \
        .venv/bin/python bench/api_load.py --requests 400 --concurrency 8

The request count is bounded (--requests per scenario); the server is stopped at the end.
Tasks run in-process (no broker), as in `make run`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _settings_module() -> str:
    """helpdesk.settings once it carries the API; until then the API tests' settings."""
    explicit = os.environ.get("DJANGO_SETTINGS_MODULE")
    if explicit:
        return explicit
    text = (ROOT / "helpdesk" / "settings.py").read_text()
    return "helpdesk.settings" if '"apitokens"' in text else "tests.api.settings_api"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _seed(tickets: int) -> tuple[str, int]:
    """A manager with a token, a customer and `tickets` tickets; returns (key, customer id)."""
    from django.contrib.auth import get_user_model

    from apitokens.services import api_token_create
    from tickets.services.agents import agent_create
    from tickets.services.customers import customer_create
    from tickets.services.events import Actor
    from tickets.services.tickets import ticket_create

    run = time.strftime("%Y%m%d%H%M%S")
    User = get_user_model()
    user = User.objects.filter(username="bench-api").first() or agent_create(
        username="bench-api", email="bench-api@example.com", role="manager", actor=Actor.system()
    )
    _token, key = api_token_create(user=user, name=f"bench {run}")
    customer = customer_create(name=f"Bench customer {run}", actor=Actor.system())
    from tickets.models import Ticket

    missing = max(0, tickets - Ticket.objects.count())
    for i in range(missing):
        ticket_create(requester=customer, subject=f"Bench ticket {i}", channel="api", actor=Actor.system())
    return key, customer.pk


def _wait_ready(port: int, server: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"The server exited early with code {server.returncode}.")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("The server did not become ready in time.")


def _run(port: int, key: str, method: str, path: str, body: dict | None, requests: int, concurrency: int) -> dict:
    headers = {"Authorization": f"Token {key}", "Content-Type": "application/json"}
    payload = json.dumps(body).encode() if body is not None else None

    def worker(count: int) -> tuple[list[float], int]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, errors = [], 0
        for _ in range(count):
            started = time.perf_counter()
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status >= 400:
                errors += 1
        conn.close()
        return latencies, errors

    shares = [requests // concurrency + (1 if i < requests % concurrency else 0) for i in range(concurrency)]
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(worker, shares))
    elapsed = time.perf_counter() - started
    latencies = sorted(x for lat, _e in results for x in lat)
    return {
        "requests": len(latencies),
        "errors": sum(e for _l, e in results),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p95": latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400, help="Requests per scenario (bounded).")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--tickets", type=int, default=300, help="Tickets in the database before the run.")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line at the end")
    args = parser.parse_args()

    os.environ["DJANGO_SETTINGS_MODULE"] = _settings_module()
    # No throttling during the benchmark: it measures the server, not the limit.
    os.environ["API_THROTTLE_RATE"] = "100000000/minute"
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _setup import django_setup

    django_setup()
    key, customer_id = _seed(args.tickets)

    port = _free_port()
    env = {**os.environ, "LOG_LEVEL": "WARNING", "DEBUG": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "helpdesk.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_ready(port, server)
        scenarios = [
            ("ticket list (50 per page)", "GET", "/api/v1/tickets/?page_size=50", None),
            (
                "ticket list, expanded",
                "GET",
                "/api/v1/tickets/?page_size=50&expand=requester,assignee,team,organization",
                None,
            ),
            (
                "ticket create",
                "POST",
                "/api/v1/tickets/",
                {"requester": customer_id, "subject": "Load test ticket", "priority": "high", "tags": ["bench"]},
            ),
        ]
        print(f"server             daphne on 127.0.0.1:{port}, settings {os.environ['DJANGO_SETTINGS_MODULE']}")
        print(f"load               {args.requests} requests per scenario, {args.concurrency} concurrent clients")
        figures = {}
        for name, method, path, body in scenarios:
            _run(port, key, method, path, body, min(20, args.requests), args.concurrency)  # warm up
            result = _run(port, key, method, path, body, args.requests, args.concurrency)
            print(
                f"{name:<26} {result['rps']:8.1f} req/s   p50 {result['p50']:7.1f} ms   "
                f"p95 {result['p95']:7.1f} ms   errors {result['errors']}/{result['requests']}"
            )
            figures[name] = {k: round(v, 1) if isinstance(v, float) else v for k, v in result.items()}
        if args.json:
            print(json.dumps({"concurrency": args.concurrency, "scenarios": figures}))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
