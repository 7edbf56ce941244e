"""Email ingest throughput: raw RFC 5322 messages from the shared corpus, end to end into the
database (store raw -> email adapter -> parse -> the one ingest service), messages per second.

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
    args = parser.parse_args()
    if not CORPUS.is_dir():
        raise SystemExit(f"The shared email corpus is not at {CORPUS.resolve()}.")
    django_setup()

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
    started = time.perf_counter()
    for n in range(args.passes):
        for i, (_name, raw) in enumerate(messages):
            payload = with_fresh_id(raw, f"<bench-{run}-{n}-{i}@bench.example>")
            deliveries = 2 if rng.random() < args.redeliveries else 1
            for _ in range(deliveries):
                t0 = time.perf_counter()
                raw_row, created = raw_inbound_store(
                    channel="email", payload=payload, external_id=email_external_id(payload)
                )
                if created:
                    results = raw_inbound_process(raw_id=raw_row.pk)
                    raw_row.refresh_from_db(fields=["status"])
                    outcomes[raw_row.status] += 1
                    outcomes["tickets opened"] += sum(1 for r in results if r.created_ticket)
                else:
                    outcomes["redelivery"] += 1
                latencies.append((time.perf_counter() - t0) * 1000)
                offered += 1
    elapsed = time.perf_counter() - started
    latencies.sort()
    from django.db import connection

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
    print(f"throughput         {offered / elapsed:,.1f} messages/s (one process, tasks in-process)")
    print(f"latency p50 / p95  {statistics.median(latencies):.2f} ms / {latencies[int(len(latencies) * 0.95)]:.2f} ms")
    if args.json:
        print(
            json.dumps(
                {
                    "offered": offered,
                    "messages_per_s": round(offered / elapsed, 1),
                    "p50_ms": round(statistics.median(latencies), 1),
                    "p95_ms": round(latencies[int(len(latencies) * 0.95)], 1),
                }
            )
        )


if __name__ == "__main__":
    main()
