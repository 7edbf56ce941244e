"""Ingest throughput: how many inbound messages per second the one ingest service stores,
and how many queries each costs, over a realistic mix (new customers, replies on open
conversations, redeliveries).

Follow-up tasks (SLA, routing, triggers, notifications, webhooks, live pushes) are queued but
not run while timing (`--follow-ups queued`, the default: other workers run them in
production); they are then run in this same process and timed, for the figure "with follow-ups
in one process". `--follow-ups inline` runs them eagerly at commit, as `make run` does.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/ingest.py --messages 3000
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

from _setup import django_setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--channel", default="sms", choices=["sms", "whatsapp", "telegram", "messenger", "instagram", "chat", "voice"]
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line at the end")
    parser.add_argument("--follow-ups", choices=["queued", "inline"], default="queued")
    args = parser.parse_args()
    django_setup()
    import _followups

    if args.follow_ups == "queued":
        _followups.followups_queued()
    sql = _followups.SqlTimer()

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.inbound import InboundMessage, InboundSender
    from tickets.models import Message, Ticket
    from tickets.services.ingest import message_ingest

    rng = random.Random(args.seed)
    run = f"{time.time_ns()}"
    kind = {"sms": "phone", "voice": "phone"}.get(args.channel, args.channel)
    if kind in ("phone", "whatsapp"):
        # Brazilian mobile numbers (valid E.164), fresh for each run.
        senders = [f"+55119{(int(run[-6:]) * 10_000 + i) % 10**8:08d}" for i in range(max(10, args.messages // 4))]
    else:
        senders = [f"{run[-9:]}{i:05d}" for i in range(max(10, args.messages // 4))]
    latencies, queries = [], []
    tickets_before, messages_before = Ticket.objects.count(), Message.objects.count()
    sent_ids: list[str] = []
    started = time.perf_counter()
    for i in range(args.messages):
        if sent_ids and rng.random() < 0.1:
            external_id = rng.choice(sent_ids)  # a provider redelivering
        else:
            external_id = f"SM{run}-{i}"
            sent_ids.append(external_id)
        inbound = InboundMessage(
            channel=args.channel,
            sender=InboundSender(kind, rng.choice(senders)),
            body_text=f"Message {i}: my order has not arrived yet, can you check?",
            external_id=external_id,
        )
        connection.queries_log.clear()
        t0 = time.perf_counter()
        with CaptureQueriesContext(connection) as ctx, sql:
            message_ingest(inbound=inbound)
        latencies.append((time.perf_counter() - t0) * 1000)
        queries.append(len(ctx.captured_queries))
    elapsed = time.perf_counter() - started
    latencies.sort()
    follow_queries: list[int] = []
    follow_tasks, follow_s = _followups.drain(queries=follow_queries) if args.follow_ups == "queued" else (0, 0.0)
    print(f"database           {connection.vendor}")
    print(f"messages offered   {args.messages} ({args.messages - len(sent_ids)} redeliveries)")
    print(f"messages stored    {Message.objects.count() - messages_before}")
    print(f"tickets opened     {Ticket.objects.count() - tickets_before}")
    label = "follow-ups queued, not run" if args.follow_ups == "queued" else "follow-ups run inline (eager)"
    print(f"throughput         {args.messages / elapsed:,.1f} messages/s (one process, {label})")
    print(f"latency p50 / p95  {statistics.median(latencies):.2f} ms / {latencies[int(len(latencies) * 0.95)]:.2f} ms")
    print(f"queries per ingest median {statistics.median(queries):.0f}, max {max(queries)}")
    print(
        f"time per message   {elapsed / args.messages * 1000:.2f} ms: SQL (statements + commits) "
        f"{sql.seconds / args.messages * 1000:.2f} ms, Python and the rest "
        f"{(elapsed - sql.seconds) / args.messages * 1000:.2f} ms"
    )
    if args.follow_ups == "queued":
        mean_q = statistics.mean(follow_queries) if follow_queries else 0
        print(f"follow-up tasks    {follow_tasks} run afterwards in {follow_s:.2f} s ({mean_q:.1f} queries each)")
        print(
            f"with follow-ups    {args.messages / (elapsed + follow_s):,.1f} messages/s "
            "(ingest and all its follow-ups in this one process)"
        )
    if args.json:
        print(
            json.dumps(
                {
                    "channel": args.channel,
                    "messages": args.messages,
                    "messages_per_s": round(args.messages / elapsed, 1),
                    "p50_ms": round(statistics.median(latencies), 1),
                    "p95_ms": round(latencies[int(len(latencies) * 0.95)], 1),
                    "queries_median": statistics.median(queries),
                    "follow_ups": args.follow_ups,
                    "with_follow_ups_per_s": round(args.messages / (elapsed + follow_s), 1),
                    "sql_ms_per_message": round(sql.seconds / args.messages * 1000, 2),
                }
            )
        )


if __name__ == "__main__":
    main()
