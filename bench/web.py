"""Server time of the agent's pages on a generated database (see generate.py): the ticket
list (views, filters, sorts, next pages), search, the ticket page and the dashboard (page
and API), p50 / p95 / p99 over many requests.

Requests go through Django's test Client into the real views, middleware and templates, as
a logged-in agent, in this process: the figure is server time (no network, no browser). Two
agents are used: an administrator who sees every ticket and a team agent who sees their
teams' tickets (the visibility filter is part of every query).

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench1m .venv/bin/python bench/web.py --requests 200

As a module: `run(requests=..., ...) -> dict` (used by run_all.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, __import__("os").path.dirname(__file__))


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    if not ordered:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "n": 0}

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 1)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1], 1), "n": len(ordered)}


# Per request, besides the wall-clock server time: the CPU time this process spent on it and
# the time its SQL took. On a busy machine (other processes on the same cores) the wall time
# also holds time spent waiting for a core; CPU + SQL is closer to the time on an idle one.
BREAKDOWN: dict[str, list[float]] = {"cpu": [], "sql": []}


def _timed(client: Any, path: str, params: dict[str, Any] | None = None) -> tuple[float, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        c0 = time.thread_time()
        t0 = time.perf_counter()
        response = client.get(path, params or {})
        took = (time.perf_counter() - t0) * 1000
        cpu = (time.thread_time() - c0) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} {params} -> {response.status_code}")
    BREAKDOWN["cpu"].append(cpu)
    BREAKDOWN["sql"].append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
    return took, response


def _breakdown() -> dict[str, float]:
    """p50/p95 of CPU and SQL time since the last call."""
    cpu, sql = percentiles(BREAKDOWN["cpu"]), percentiles(BREAKDOWN["sql"])
    BREAKDOWN["cpu"].clear()
    BREAKDOWN["sql"].clear()
    return {"cpu_p50": cpu["p50"], "cpu_p95": cpu["p95"], "sql_p50": sql["p50"], "sql_p95": sql["p95"]}


def _agents() -> tuple[Any, Any]:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    admin = User.objects.filter(username="bench-agent-0").first()
    agent = User.objects.filter(username="bench-agent-1").first()
    if admin is None or agent is None:
        raise SystemExit("No bench agents: generate the data first (bench/generate.py).")
    return admin, agent


def _search_words(rng: random.Random) -> list[str]:
    """Frequent words, rarer words, an order number (a handful of tickets), a phrase, a
    word that matches nothing, and a ticket number."""
    from tickets.models import Ticket

    sample = list(Ticket.objects.order_by("-id").values_list("subject", "number")[:200])
    orders = [s.rsplit("(", 1)[-1].rstrip(")") for s, _n in sample if "(" in s]
    return [
        "refund",
        "password",
        "invoice",
        "printer",
        "delivery parcel",
        '"charged twice"',
        "warranty -battery",
        "zyxwvutsq",
        rng.choice(orders) if orders else "A000001",
        f"#{sample[0][1]}" if sample else "#1",
    ]


# The kind of each query of _search_words(), for the per-kind figures.
SEARCH_KINDS = {
    "refund": "common word",
    "password": "common word",
    "invoice": "common word",
    "printer": "word",
    "delivery parcel": "two words",
    '"charged twice"': "quoted phrase",
    "warranty -battery": "negation",
    "zyxwvutsq": "no match",
}
# Views, sorts and filters a search is combined with (search_with_list).
SEARCH_LIST_PARAMS = [
    {"queue": "all"},
    {"queue": "unsolved"},
    {"queue": "mine"},
    {"queue": "pending"},
    {"queue": "recently_solved"},
    {"queue": "all", "sort": "-created"},
    {"queue": "all", "sort": "-priority"},
    {"queue": "all", "sort": "number"},
    {"queue": "unsolved", "sort": "due"},
    {"queue": "all", "channel": "whatsapp"},
    {"queue": "all", "status": "closed", "priority": "urgent"},
    {"queue": "unsolved", "tag": "billing"},
]


def _search_kind(word: str) -> str:
    if word in SEARCH_KINDS:
        return SEARCH_KINDS[word]
    return "ticket number" if word.startswith("#") else "order number"


def _search_section(
    *, clients: dict[str, Any], rng: random.Random, requests: int, teams: list[int], results: dict[str, Any], say: Any
) -> None:
    """The search mix (each query in turn over all / unsolved tickets, both agents), then the
    same queries combined with views, sorts and filters (and a next page now and then), with
    p50/p95 per kind of query."""
    words = _search_words(rng)
    samples = []
    per_word: dict[str, list[float]] = {w: [] for w in words}
    for i in range(requests):
        client = clients["admin" if i % 2 == 0 else "agent"]
        word = words[i % len(words)]
        params = {"q": word, "queue": "all" if i % 3 else "unsolved"}
        took, _response = _timed(client, "/agent/", params)
        samples.append(took)
        per_word[word].append(took)
    results["search"] = percentiles(samples) | _breakdown()
    results["search_by_query"] = {w: percentiles(v)["p50"] for w, v in per_word.items()}
    per_kind: dict[str, list[float]] = {}
    for word, values in per_word.items():
        if values:
            per_kind.setdefault(_search_kind(word), []).extend(values)
    results["search_by_kind"] = {k: percentiles(v) for k, v in per_kind.items()}
    say(f"search               {results['search']}")
    say(f"search p50 by query  {results['search_by_query']}")
    for kind, figures in results["search_by_kind"].items():
        say(f"  {kind:18} p50 {figures['p50']:8.1f}  p95 {figures['p95']:8.1f}  max {figures.get('max', 0):8.1f} ms")

    samples = []
    per_kind = {}
    for i in range(requests):
        client = clients["admin" if i % 2 == 0 else "agent"]
        word = words[i % len(words)]
        params = dict(rng.choice(SEARCH_LIST_PARAMS), q=word)
        if rng.random() < 0.2 and teams:
            params["team"] = rng.choice(teams)
        took, response = _timed(client, "/agent/", params)
        samples.append(took)
        per_kind.setdefault(_search_kind(word), []).append(took)
        next_query = response.context["next_query"] if response.context else ""
        if next_query and i % 4 == 0:
            took, _response = _timed(client, f"/agent/?{next_query}")
            samples.append(took)
            per_kind[_search_kind(word)].append(took)
    results["search_with_list"] = percentiles(samples) | _breakdown()
    results["search_with_list_by_kind"] = {k: percentiles(v) for k, v in per_kind.items()}
    say(f"search + views/sorts {results['search_with_list']}")
    for kind, figures in results["search_with_list_by_kind"].items():
        say(f"  {kind:18} p50 {figures['p50']:8.1f}  p95 {figures['p95']:8.1f}  max {figures.get('max', 0):8.1f} ms")


def run_search(*, requests: int = 200, seed: int = 7, quiet: bool = False) -> dict[str, Any]:
    """The search part of run() alone (`--only-search`)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from tickets.models import Team

    try:
        setup_test_environment()
    except RuntimeError:
        pass
    rng = random.Random(seed)
    admin, agent = _agents()
    clients = {}
    for name, user in (("admin", admin), ("agent", agent)):
        client = Client()
        client.force_login(user)
        client.get("/agent/")  # warm (counts cached)
        clients[name] = client
    _breakdown()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = 'tickets_ticket'::regclass")
        results: dict[str, Any] = {"tickets": int(cursor.fetchone()[0]), "requests": requests}

    def say(text: str) -> None:
        if not quiet:
            print(text, flush=True)

    teams = list(Team.objects.values_list("pk", flat=True))
    _search_section(clients=clients, rng=rng, requests=requests, teams=teams, results=results, say=say)
    return results


def run(*, requests: int = 200, seed: int = 7, quiet: bool = False, dashboard: bool = True) -> dict[str, Any]:
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from tickets.models import Team, Ticket

    try:
        setup_test_environment()  # allows the test client's host; outbound mail to memory
    except RuntimeError:
        pass  # already set up (inside the test suite)
    rng = random.Random(seed)
    admin, agent = _agents()
    clients = {}
    for name, user in (("admin", admin), ("agent", agent)):
        client = Client()
        client.force_login(user)
        clients[name] = client
    teams = list(Team.objects.values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = 'tickets_ticket'::regclass")
        n_tickets = int(cursor.fetchone()[0])
    results: dict[str, Any] = {"tickets": n_tickets, "requests": requests}

    def say(text: str) -> None:
        if not quiet:
            print(text, flush=True)

    # --- the ticket list ---------------------------------------------------------------------
    list_params = [
        {},
        {"queue": "mine"},
        {"queue": "unassigned"},
        {"queue": "all"},
        {"queue": "pending"},
        {"queue": "breaching"},
        {"queue": "recently_solved"},
        {"queue": "all", "sort": "-created"},
        {"queue": "all", "sort": "-priority"},
        {"queue": "unsolved", "sort": "due"},
        {"queue": "all", "channel": "whatsapp"},
        {"queue": "all", "status": "closed", "priority": "urgent"},
        {"queue": "unsolved", "tag": "billing"},
    ]
    # counts are cached (per user, invalidated by changes): measure a cold page once.
    cache.clear()
    cold_ms, _ = _timed(clients["admin"], "/agent/")
    results["list_cold_counts_ms"] = round(cold_ms, 1)
    for client in clients.values():
        client.get("/agent/")  # warm
    _breakdown()
    samples: list[float] = []
    next_samples: list[float] = []
    for i in range(requests):
        client = clients["admin" if i % 2 == 0 else "agent"]
        params = dict(rng.choice(list_params))
        if rng.random() < 0.25 and teams:
            params["team"] = rng.choice(teams)
        took, response = _timed(client, "/agent/", params)
        samples.append(took)
        next_query = response.context["next_query"] if response.context else ""
        if next_query and i % 3 == 0:  # follow the keyset pagination a few pages deep
            for _ in range(2):
                took, response = _timed(client, f"/agent/?{next_query}")
                next_samples.append(took)
                next_query = response.context["next_query"] if response.context else ""
                if not next_query:
                    break
    results["list"] = percentiles(samples) | _breakdown()
    results["list_next_pages"] = percentiles(next_samples)
    say(f"ticket list          {results['list']}  (cold counts {cold_ms:.0f} ms)")
    say(f"ticket list, page 2+ {results['list_next_pages']}")

    # --- search ------------------------------------------------------------------------------
    _search_section(clients=clients, rng=rng, requests=requests, teams=teams, results=results, say=say)

    # --- the ticket page ---------------------------------------------------------------------
    first, last = (
        Ticket.objects.order_by("number").values_list("number", flat=True)[:1].get(),
        (Ticket.objects.order_by("-number").values_list("number", flat=True)[:1].get()),
    )
    samples = []
    done = 0
    tries = 0
    while done < requests and tries < requests * 5:
        tries += 1
        number = rng.randint(first, last)
        if not Ticket.objects.filter(number=number).exists():
            continue
        took, _response = _timed(clients["admin"], f"/agent/tickets/{number}/")
        samples.append(took)
        done += 1
    results["ticket_page"] = percentiles(samples) | _breakdown()
    say(f"ticket page          {results['ticket_page']}")

    # --- the dashboard -----------------------------------------------------------------------
    if dashboard:
        today = dt.date.today()
        scenarios = {
            "dashboard_30d": ("/dashboard/", {}),
            "dashboard_365d": (
                "/dashboard/",
                {"date_from": (today - dt.timedelta(days=364)).isoformat(), "date_to": today.isoformat()},
            ),
            "dashboard_api_30d": ("/api/v1/metrics/", {}),
        }
        runs = max(5, requests // 20)
        from metrics.page_cache import dashboard_cache_forget

        for key, (path, params) in scenarios.items():
            try:
                _timed(clients["admin"], path, params)  # warm
                _breakdown()
                samples = []
                for _ in range(runs):
                    dashboard_cache_forget()  # cold: the dashboard's data cache emptied each time
                    samples.append(_timed(clients["admin"], path, params)[0])
            except RuntimeError as exc:
                results[key] = {"error": str(exc)}
                say(f"{key:20} {exc}")
                continue
            results[key] = percentiles(samples) | _breakdown()
            say(f"{key:20} {results[key]}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200, help="requests per scenario")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-dashboard", action="store_true")
    parser.add_argument("--only-search", action="store_true", help="the search scenarios only")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line at the end")
    args = parser.parse_args()
    from _setup import django_setup

    django_setup()
    if args.only_search:
        results = run_search(requests=args.requests, seed=args.seed, quiet=args.json)
    else:
        results = run(requests=args.requests, seed=args.seed, quiet=args.json, dashboard=not args.no_dashboard)
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
