"""Email ingest throughput: raw RFC 5322 messages from the shared corpus, end to end into the
database (store raw -> email adapter -> parse -> the one ingest service), messages per second.

The timed part is what the help desk does per message: keep it raw (as the HTTP endpoint or
the IMAP poller does) and process it (the `channels_inbox.raw_inbound_process` task of the
ingest queue). Follow-up tasks (SLA, routing, triggers, notifications, webhooks, live pushes)
are queued but not run while timing (`--follow-ups queued`, the default: other workers run them
in production); they are then run in this same process and timed, for the figure "with
follow-ups in one process". `--follow-ups inline` runs them at commit, eagerly, as `make run`.

Every pass rewrites each message's Message-ID so it is new to the database (a second, untouched
delivery of a few of them measures redeliveries too). Bounces and auto-replies are processed
like any other mail (they open no ticket).

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/email_ingest.py --passes 5
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import time
from collections import Counter
from pathlib import Path

from _setup import django_setup

CORPUS = Path(__file__).resolve().parent.parent / ".." / "shared" / "corpora" / "email"


def corpus_messages() -> list[tuple[str, bytes]]:
    files = sorted(
        p
        for p in CORPUS.resolve().rglob("*")
        if p.is_file() and p.suffix in (".eml", ".txt") and "crisp_email_reply_parser" not in p.parts
    )
    return [(str(p.relative_to(CORPUS.resolve())), p.read_bytes()) for p in files]


_MESSAGE_ID = re.compile(rb"^(message-id:[ \t]*)[^\r\n]*", re.IGNORECASE | re.MULTILINE)


def with_fresh_id(raw: bytes, fresh: str) -> bytes:
    replaced, count = _MESSAGE_ID.subn(lambda m: m.group(1) + fresh.encode(), raw, count=1)
    if count:
        return replaced
    return b"Message-ID: " + fresh.encode() + b"\r\n" + raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passes", type=int, default=5, help="How many times to offer the whole corpus.")
    parser.add_argument("--redeliveries", type=float, default=0.1, help="Share of messages delivered twice.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line at the end")
    parser.add_argument("--follow-ups", choices=["queued", "inline"], default="queued")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the timed part to FILE")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        raise SystemExit(f"The shared email corpus is not at {CORPUS.resolve()}.")
    django_setup()
    import _followups

    if args.follow_ups == "queued":
        _followups.followups_queued()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from channels_inbox import registry
    from channels_inbox.email.adapter import email_external_id, register_email_adapter
    from channels_inbox.services import raw_inbound_process
    from tickets.models import Message, RawInbound, Ticket
    from tickets.services.ingest import raw_inbound_store

    register_email_adapter()
    assert registry.get("email")
    messages = corpus_messages()
    rng = random.Random(args.seed)
    run = time.time_ns()
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    tickets_before, messages_before, raw_before = (
        Ticket.objects.count(),
        Message.objects.count(),
        RawInbound.objects.count(),
    )
    offered = 0
    worker_ms: list[float] = []  # raw_inbound_process alone: the ingest task
    queries: list[int] = []
    elapsed = 0.0
    sql = _followups.SqlTimer()
    worker_sql = 0.0
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    for n in range(args.passes):
        for i, (_name, raw) in enumerate(messages):
            payload = with_fresh_id(raw, f"<bench-{run}-{n}-{i}@bench.example>")
            deliveries = 2 if rng.random() < args.redeliveries else 1
            for _ in range(deliveries):
                results = None
                with CaptureQueriesContext(connection) as ctx, sql:
                    if profiler:
                        profiler.enable()
                    t0 = time.perf_counter()
                    raw_row, created = raw_inbound_store(
                        channel="email", payload=payload, external_id=email_external_id(payload)
                    )
                    t1 = time.perf_counter()
                    sql_before = sql.seconds
                    if created:
                        results = raw_inbound_process(raw_id=raw_row.pk)
                    t2 = time.perf_counter()
                    if profiler:
                        profiler.disable()
                elapsed += t2 - t0
                latencies.append((t2 - t0) * 1000)
                queries.append(len(ctx.captured_queries))
                offered += 1
                if results is not None:
                    worker_ms.append((t2 - t1) * 1000)
                    worker_sql += sql.seconds - sql_before
                    raw_row.refresh_from_db(fields=["status"])  # bookkeeping, not timed
                    outcomes[raw_row.status] += 1
                    outcomes["tickets opened"] += sum(1 for r in results if r.created_ticket)
                else:
                    outcomes["redelivery"] += 1
    latencies.sort()
    worker_ms.sort()
    follow_queries: list[int] = []
    follow_tasks, follow_s = _followups.drain(queries=follow_queries) if args.follow_ups == "queued" else (0, 0.0)
    if profiler:
        profiler.dump_stats(args.profile)

    print(f"database           {connection.vendor}")
    print(f"corpus             {len(messages)} messages, {sum(len(r) for _, r in messages) / 1024:,.0f} KiB")
    print(f"messages offered   {offered} ({outcomes['redelivery']} redeliveries)")
    print(f"raw stored         {RawInbound.objects.count() - raw_before}")
    print(f"messages stored    {Message.objects.count() - messages_before}")
    print(f"tickets opened     {Ticket.objects.count() - tickets_before}")
    print(
        "outcomes           "
        + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()) if k not in ("redelivery", "tickets opened"))
    )
    label = "follow-ups queued, not run" if args.follow_ups == "queued" else "follow-ups run inline (eager)"
    print(f"throughput         {offered / elapsed:,.1f} messages/s (one process: store raw + process; {label})")
    print(f"latency p50 / p95  {statistics.median(latencies):.2f} ms / {latencies[int(len(latencies) * 0.95)]:.2f} ms")
    print(f"queries per offer  median {statistics.median(queries):.0f}, mean {statistics.mean(queries):.1f}")
    print(
        f"time per offer     {elapsed / offered * 1000:.2f} ms: SQL (statements + commits) "
        f"{sql.seconds / offered * 1000:.2f} ms, Python {(elapsed - sql.seconds) / offered * 1000:.2f} ms"
    )
    worker_s = sum(worker_ms) / 1000
    print(
        f"ingest task alone  {len(worker_ms) / worker_s:,.1f} messages/s "
        f"(raw_inbound_process; p50 {statistics.median(worker_ms):.2f} ms, "
        f"p95 {worker_ms[int(len(worker_ms) * 0.95)]:.2f} ms; per message SQL "
        f"{worker_sql / len(worker_ms) * 1000:.2f} ms, Python {(worker_s - worker_sql) / len(worker_ms) * 1000:.2f} ms)"
    )
    if args.follow_ups == "queued":
        mean_q = statistics.mean(follow_queries) if follow_queries else 0
        print(f"follow-up tasks    {follow_tasks} run afterwards in {follow_s:.2f} s ({mean_q:.1f} queries each)")
        print(
            f"with follow-ups    {offered / (elapsed + follow_s):,.1f} messages/s "
            "(ingest and all its follow-ups in this one process)"
        )
    if args.json:
        print(
            json.dumps(
                {
                    "offered": offered,
                    "follow_ups": args.follow_ups,
                    "messages_per_s": round(offered / elapsed, 1),
                    "p50_ms": round(statistics.median(latencies), 1),
                    "p95_ms": round(latencies[int(len(latencies) * 0.95)], 1),
                    "queries_median": statistics.median(queries),
                    "queries_mean": round(statistics.mean(queries), 1),
                    "ingest_task_per_s": round(len(worker_ms) / worker_s, 1),
                    "sql_ms_per_offer": round(sql.seconds / offered * 1000, 2),
                    "python_ms_per_offer": round((elapsed - sql.seconds) / offered * 1000, 2),
                    "with_follow_ups_per_s": round(offered / (elapsed + follow_s), 1),
                    "follow_up_tasks": follow_tasks,
                }
            )
        )


if __name__ == "__main__":
    main()
