"""SLA sweep speed: how long one sweep takes over N open tickets with running SLA clocks, of
which some are due, and how long after its deadline each breach is recorded.

Each ticket gets a running first-response clock; `--due` of them fell due within the last
minute (as between two beat runs), the rest are due later. The sweep then records every
breach (ledger row + `sla_breached` Event, in batches) and a second sweep shows the cost of
a run with nothing to do.

    createdb -h 127.0.0.1 -U postgres bench
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/sla_sweep.py --tickets 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import time

from _setup import django_setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--due", type=float, default=0.05, help="share of tickets due at sweep time")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--raise-priority", action="store_true", help="escalate each breach through ticket_update")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line at the end")
    args = parser.parse_args()
    django_setup()

    from django.db import connection, transaction
    from django.db.models import F
    from django.utils import timezone

    from tickets.models import Customer, Event, Ticket
    from tickets.models_sla import SlaClock, SlaLedgerEntry, SlaPolicy, SlaTarget
    from tickets.sla.sweep import sla_sweep

    rng = random.Random(args.seed)
    base = 9_000_000_000 + (time.time_ns() // 1000) % 1_000_000_000  # ticket numbers of this run
    # bulk_create: no post_save signal, so creating the benchmark's policy does not re-apply SLA
    # policies to every unsolved ticket already in the database (tickets.sla.reapply), which at
    # a million tickets takes many minutes and is not what this measures.
    (policy,) = SlaPolicy.objects.bulk_create(
        [
            SlaPolicy(
                name=f"bench {base}", position=10_000, warn_before_minutes=0, breach_raise_priority=args.raise_priority
            )
        ]
    )
    SlaTarget.objects.bulk_create(
        [SlaTarget(policy=policy, metric="first_response", minutes=240, business_hours=False)]
    )
    customer = Customer.objects.create(name="Bench customer")

    now = timezone.now()
    n_due = int(args.tickets * args.due)
    started = time.perf_counter()
    chunk = 5_000
    for offset in range(0, args.tickets, chunk):
        with transaction.atomic():
            size = min(chunk, args.tickets - offset)
            tickets = Ticket.objects.bulk_create(
                [
                    Ticket(
                        number=base + offset + i,
                        subject=f"Bench ticket {offset + i}",
                        channel="email",
                        requester=customer,
                        created_at=now - dt.timedelta(hours=3),
                        updated_at=now,
                    )
                    for i in range(size)
                ]
            )
            clocks = []
            for i, ticket in enumerate(tickets):
                if offset + i < n_due:  # fell due within the minute before the sweep
                    due = now - dt.timedelta(seconds=rng.uniform(0, 60))
                else:
                    due = now + dt.timedelta(minutes=rng.uniform(1, 3 * 24 * 60))
                clocks.append(
                    SlaClock(
                        ticket=ticket,
                        metric="first_response",
                        state="running",
                        policy=policy,
                        target_minutes=240,
                        started_at=due - dt.timedelta(hours=4),
                        running_since=due - dt.timedelta(hours=4),
                        elapsed=dt.timedelta(0),
                        due_at=due,
                    )
                )
            SlaClock.objects.bulk_create(clocks)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_ticket; ANALYZE tickets_slaclock")
    print(f"database           {connection.vendor}")
    print(f"set-up             {args.tickets:,} tickets with running clocks in {time.perf_counter() - started:.1f} s")

    try:
        # The due clocks fell due within the minute before *this* moment, not before set-up.
        sweep_at = timezone.now()
        SlaClock.objects.filter(policy=policy, due_at__lte=now).update(due_at=F("due_at") + (sweep_at - now))
        t0 = time.perf_counter()
        result = sla_sweep(now=sweep_at, batch_size=args.batch)
        sweep_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = sla_sweep(now=timezone.now(), batch_size=args.batch)
        idle_s = time.perf_counter() - t0

        entries = SlaLedgerEntry.objects.filter(policy=policy, kind="breached")
        delays = sorted((e.created_at - e.due_at).total_seconds() for e in entries.only("created_at", "due_at"))
        print(f"due at sweep time  {n_due:,} ({args.due:.0%})")
        print(f"sweep              {sweep_s:.2f} s, {result.breached:,} breaches in {result.batches} batches")
        print(f"throughput         {result.breached / sweep_s:,.0f} breached rows/s over {args.tickets:,} open tickets")
        print(f"second sweep       {idle_s * 1000:.1f} ms, {again.breached} breaches (idempotent)")
        if delays:
            print(
                f"deadline -> breach recorded: median {statistics.median(delays):.1f} s, max {delays[-1]:.1f} s "
                "(clocks fell due up to 60 s before the sweep; with beat every minute the worst case is "
                "60 s + one sweep)"
            )
        print(f"escalation         raise priority {'on' if args.raise_priority else 'off'}")
        if args.json:
            print(
                json.dumps(
                    {
                        "tickets": args.tickets,
                        "due": n_due,
                        "sweep_s": round(sweep_s, 2),
                        "breached": result.breached,
                        "idle_sweep_ms": round(idle_s * 1000, 1),
                    }
                )
            )
    finally:
        ticket_ids = Ticket.objects.filter(number__gte=base, number__lt=base + args.tickets).values("pk")
        Event.objects.filter(ticket_id__in=ticket_ids).delete()
        SlaLedgerEntry.objects.filter(policy=policy).delete()
        SlaClock.objects.filter(policy=policy).delete()
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM tickets_ticketsearchdocument WHERE ticket_id IN "
                "(SELECT id FROM tickets_ticket WHERE number >= %s AND number < %s)",
                [base, base + args.tickets],
            )
            cursor.execute("DELETE FROM tickets_ticket WHERE number >= %s AND number < %s", [base, base + args.tickets])
            # Without signals, as it was created (no re-apply).
            cursor.execute("DELETE FROM tickets_slatarget WHERE policy_id = %s", [policy.pk])
            cursor.execute("DELETE FROM tickets_slapolicy WHERE id = %s", [policy.pk])
        customer.delete()


if __name__ == "__main__":
    main()
