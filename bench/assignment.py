"""Assignment speed: how long the routing sweep takes to hand out a backlog of unassigned
tickets of one team (least-loaded, with per-agent capacity), and what an idle sweep costs
while the same backlog waits with nobody available.

    createdb -h 127.0.0.1 -U postgres bench
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/assignment.py --tickets 2000
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from _setup import django_setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=2_000)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--strategy", default="least_loaded", choices=["round_robin", "least_loaded", "skills"])
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    django_setup()

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from tickets.models import AgentProfile, Customer, Team, Ticket
    from tickets.numbers import ticket_number_next
    from tickets.routing.models import TeamAssignment
    from tickets.routing.services import routing_sweep
    from tickets.services.agents import agent_create
    from tickets.services.events import Actor

    stamp = time.time_ns() // 1000
    team = Team.objects.create(name=f"bench {stamp}")
    users = [
        agent_create(
            username=f"bench{stamp}-{i}", email=f"b{i}@bench.example", role="agent", teams=[team], actor=Actor.system()
        )
        for i in range(args.agents)
    ]
    per_agent = -(-args.tickets // args.agents)
    AgentProfile.objects.filter(user__in=users).update(capacity=per_agent, is_available=False)
    customer = Customer.objects.create(name="Bench customer")
    old = timezone.now() - dt.timedelta(hours=1)  # past the routing grace period
    Ticket.objects.bulk_create(
        [
            Ticket(
                number=ticket_number_next(),
                subject=f"Bench {i}",
                channel="email",
                requester=customer,
                team=team,
                created_at=old,
                updated_at=old,
            )
            for i in range(args.tickets)
        ],
        batch_size=1000,
    )
    TeamAssignment.objects.create(team=team, strategy=args.strategy)

    with CaptureQueriesContext(connection) as idle:
        started = time.perf_counter()
        routing_sweep(batch_size=args.batch)
        idle_s = time.perf_counter() - started
    print(f"idle sweep (nobody available, {args.tickets} waiting): {idle_s * 1000:.1f} ms, {len(idle)} queries")

    AgentProfile.objects.filter(user__in=users).update(is_available=True)
    started = time.perf_counter()
    result = routing_sweep(batch_size=args.batch)
    busy_s = time.perf_counter() - started
    print(
        f"sweep assigning {result.assigned} tickets to {args.agents} agents ({args.strategy}): "
        f"{busy_s:.2f} s, {busy_s / max(result.assigned, 1) * 1000:.1f} ms per ticket"
    )


if __name__ == "__main__":
    main()
