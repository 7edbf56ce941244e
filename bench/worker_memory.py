"""Memory of one Celery worker process, and its email ingest rate: starts a worker
(`--pool solo`, so the one process does the work) on its own queue, reads its resident
memory (RSS) once it has processed a first message (imports loaded, caches warm), queues
`--messages` raw emails for `channels_inbox.raw_inbound_process`, waits until they are all
processed and reads the RSS again.

`--follow-ups separate` (the default) runs the queues split (CELERY_SPLIT_QUEUES): the worker
consumes only `<queue>.ingest`, as an ingest worker does in production, and the follow-up tasks
each message queues (SLA, routing, triggers, notifications, webhooks, live pushes) wait on the
other queues for other workers (they are dropped at the end). `--follow-ups same` has the one
worker consume every queue and waits until the follow-ups are done too: ingest and follow-ups
in one process.

Needs a broker: REDIS_URL (default here redis://127.0.0.1:6379/14). The queue is private to
the run, so a worker of the project running meanwhile takes none of these messages. The worker
gets DB_CONN_MAX_AGE=300 and CELERY_DB_REUSE_MAX=1000 (as docker-compose.yml's ingest worker)
unless the environment sets them.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench1m .venv/bin/python bench/worker_memory.py --messages 300
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _emails(n: int, run: str) -> list[bytes]:
    """Raw emails: the shared corpus when present (real-world MIME), else plain ones."""
    from email_ingest import CORPUS, corpus_messages, with_fresh_id

    corpus = [raw for _name, raw in corpus_messages()] if CORPUS.is_dir() else []
    out = []
    for i in range(n):
        fresh = f"<bench-worker-{run}-{i}@bench.example>"
        if corpus:
            out.append(with_fresh_id(corpus[i % len(corpus)], fresh))
        else:
            out.append(
                (
                    f"From: Customer {i} <worker{run}-{i % 50}@example.com>\r\nTo: support@helpdesk.example\r\n"
                    f"Subject: Order {i} has not arrived\r\nMessage-ID: {fresh}\r\n"
                    f"Content-Type: text/plain; charset=utf-8\r\n\r\nHello, my order {i} has not arrived yet.\r\n"
                ).encode()
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line at the end")
    parser.add_argument("--follow-ups", choices=["separate", "same"], default="separate")
    args = parser.parse_args()
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    run = str(time.time_ns())
    queue = f"bench-worker-{run}"
    os.environ["CELERY_QUEUE"] = queue
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    os.environ["CELERY_SPLIT_QUEUES"] = "1"
    from _setup import django_setup

    django_setup()
    import redis

    from helpdesk.scaling import queue_names

    queues = queue_names(queue)
    ingest_queue = f"{queue}.ingest"
    consumed = [ingest_queue] if args.follow_ups == "separate" else queues
    broker = redis.Redis.from_url(os.environ["REDIS_URL"])
    from channels_inbox.email.adapter import email_external_id, register_email_adapter
    from channels_inbox.tasks import raw_inbound_process_task
    from tickets.models import RawInbound
    from tickets.services.ingest import raw_inbound_store

    register_email_adapter()
    # The worker keeps its database connection between tasks, as docker-compose.yml's ingest
    # worker does (override either variable in the environment to measure without).
    env = {
        "DB_CONN_MAX_AGE": "300",
        "CELERY_DB_REUSE_MAX": "1000",
        **os.environ,
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": os.environ["DATABASE_URL"],
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "--pool", "solo", "-Q", ",".join(consumed),
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        payloads = _emails(args.messages + 1, run)

        def queue_raw(payload: bytes) -> int:
            raw, _created = raw_inbound_store(channel="email", payload=payload, external_id=email_external_id(payload))
            raw_inbound_process_task.apply_async(args=[raw.pk], queue=ingest_queue)
            return raw.pk

        def wait(ids: list[int]) -> None:
            deadline = time.monotonic() + args.timeout
            while RawInbound.objects.filter(pk__in=ids, status="received").exists():
                if worker.poll() is not None:
                    raise SystemExit(f"the worker exited with {worker.returncode}")
                if time.monotonic() > deadline:
                    raise SystemExit("timed out waiting for the worker")
                time.sleep(0.02)
            if args.follow_ups == "same":  # and every follow-up taken and finished
                while any(broker.llen(q) for q in queues) or broker.hlen("unacked"):
                    if time.monotonic() > deadline:
                        raise SystemExit("timed out waiting for the follow-ups")
                    time.sleep(0.1)

        t0 = time.perf_counter()
        wait([queue_raw(payloads[0])])
        warm_s = time.perf_counter() - t0
        rss_warm = rss_mb(worker.pid)
        ids = [queue_raw(p) for p in payloads[1:]]  # queued first: the worker works flat out
        t0 = time.perf_counter()
        wait(ids)
        took = time.perf_counter() - t0
        rss_after = rss_mb(worker.pid)
        statuses = dict(
            RawInbound.objects.filter(pk__in=ids)
            .values_list("status")
            .annotate(n=__import__("django").db.models.Count("pk"))
        )
    finally:
        broker.delete(*queues)  # follow-ups left for other workers: drop them
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    result = {
        "messages": args.messages,
        "rss_warm_mb": round(rss_warm, 1),
        "rss_after_mb": round(rss_after, 1),
        "start_and_first_s": round(warm_s, 1),
        "seconds": round(took, 2),
        "messages_per_s": round(args.messages / took, 1) if took else None,
        "follow_ups": args.follow_ups,
        "statuses": statuses,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"worker RSS after the first message   {rss_warm:.1f} MiB")
        print(f"worker RSS after {args.messages} more messages  {rss_after:.1f} MiB")
        where = "on other queues, not run here" if args.follow_ups == "separate" else "run by this worker too"
        print(f"email ingest in the worker          {result['messages_per_s']} messages/s ({statuses})")
        print(f"follow-up tasks                     {where}")


if __name__ == "__main__":
    main()
