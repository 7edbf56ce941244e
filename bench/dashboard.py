"""Dashboard latency at N tickets: fills a scratch database with a year of tickets (5 messages
each by default), surveys and SLA ledger rows, runs the rollup task (first full run, then an
incremental run), and requests /dashboard/ repeatedly, printing p50 / p95 per scenario.

    createdb -h 127.0.0.1 -U postgres bench
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/dashboard.py --tickets 1000000

The default (--tickets 20000) takes a minute or two. The data is replaced on each run unless
--keep is given and the database already holds that many tickets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time

from _setup import django_setup


def _fill(args) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from metrics.models import DailyRollup, HourlyVolumeRollup, RollupState, Survey
    from tickets.models import Customer, Message, Tag, Team, Ticket
    from tickets.models_sla import SlaLedgerEntry

    rng = random.Random(args.seed)
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE tickets_ticket, tickets_customer, tickets_tag, metrics_dailyrollup, "
            "metrics_hourlyvolumerollup, metrics_rollupstate RESTART IDENTITY CASCADE"
        )
    for model in (DailyRollup, HourlyVolumeRollup, RollupState):
        model.objects.all().delete()
    teams = [Team.objects.get_or_create(name=f"Bench team {i}")[0] for i in range(4)]
    User = get_user_model()
    agents = [User.objects.get_or_create(username=f"bench-agent-{i}")[0] for i in range(20)]
    tags = [Tag.objects.create(name=f"topic-{i}") for i in range(10)]
    n_customers = max(1, args.tickets // 5)
    Customer.objects.bulk_create(
        [Customer(name=f"Customer {i}", attributes={"churned": i % 9 == 0}) for i in range(n_customers)],
        batch_size=5000,
    )
    customer_ids = list(Customer.objects.values_list("pk", flat=True))
    now = timezone.now()
    channels = ["email"] * 5 + ["chat"] * 2 + ["sms", "whatsapp", "web", "telegram"]
    priorities = ["low", "normal", "normal", "normal", "high", "urgent"]
    t0 = time.perf_counter()
    batch = 5000
    for start in range(0, args.tickets, batch):
        rows = []
        for i in range(start, min(start + batch, args.tickets)):
            created = now - dt.timedelta(seconds=rng.random() * 365 * 86400)
            responded = created + dt.timedelta(minutes=rng.expovariate(1 / 180)) if rng.random() < 0.95 else None
            solved = (
                created + dt.timedelta(hours=rng.expovariate(1 / 20)) if responded and rng.random() < 0.85 else None
            )
            solved = solved if solved and solved < now else None
            rows.append(
                Ticket(
                    number=100000 + i,
                    subject=f"Bench ticket {i}",
                    status="solved" if solved else rng.choice(["open", "pending", "new"]),
                    priority=rng.choice(priorities),
                    channel=rng.choice(channels),
                    requester_id=rng.choice(customer_ids),
                    team=rng.choice(teams),
                    assignee=rng.choice(agents),
                    created_at=created,
                    updated_at=solved or responded or created,
                    first_responded_at=responded,
                    solved_at=solved,
                )
            )
        with transaction.atomic():
            Ticket.objects.bulk_create(rows, batch_size=batch)
    print(f"tickets: {args.tickets} in {time.perf_counter() - t0:.1f}s")

    t0 = time.perf_counter()
    # Messages in SQL: k per ticket, alternating customer and agent, spread over the ticket's life.
    fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
    exprs = {
        "ticket_id": "t.id",
        "direction": "CASE WHEN g %% 2 = 1 THEN 'inbound' ELSE 'outbound' END",
        "author_kind": "CASE WHEN g %% 2 = 1 THEN 'customer' ELSE 'agent' END",
        "author_customer_id": "CASE WHEN g %% 2 = 1 THEN t.requester_id END",
        "author_user_id": "CASE WHEN g %% 2 = 0 THEN t.assignee_id END",
        "channel": "t.channel",
        "subject": "t.subject",
        "body_text": "'Bench message body ' || g",
        "delivery_status": "CASE WHEN g %% 2 = 1 THEN 'received' ELSE 'sent' END",
        "created_at": "t.created_at + (g * interval '37 minutes')",
    }
    columns, values, params = [], [], []
    for f in fields:
        columns.append(f'"{f.column}"')
        if f.column in exprs:
            values.append(exprs[f.column])
        else:
            default = f.get_default()
            if isinstance(default, dict | list):
                values.append("%s::jsonb")
                params.append(__import__("json").dumps(default))
            else:
                values.append("%s")
                params.append(default)
    sql = (
        f"INSERT INTO {Message._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM {Ticket._meta.db_table} t CROSS JOIN generate_series(1, %s) g"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [*params, args.messages_per_ticket])
    print(f"messages: {Message.objects.count()} in {time.perf_counter() - t0:.1f}s")

    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO tickets_ticket_tags (ticket_id, tag_id) SELECT id, %s + (id %% 10) FROM tickets_ticket "
            "WHERE id %% 3 = 0",
            [tags[0].pk],
        )
    solved = Ticket.objects.filter(solved_at__isnull=False).values_list(
        "pk", "requester_id", "channel", "assignee_id", "team_id", "solved_at"
    )
    surveys, ledger = [], []
    for pk, requester, channel, agent, team, solved_at in solved.iterator(chunk_size=10000):
        if pk % 4 == 0:
            surveys.append(
                Survey(
                    ticket_id=pk,
                    customer_id=requester,
                    kind="csat" if pk % 8 else "ces",
                    key=f"bench-{pk}",
                    channel=channel,
                    agent_id=agent,
                    team_id=team,
                    sent_at=solved_at,
                    invitation_status="queued",
                    score=rng.randint(1, 5),
                    answered_at=solved_at,
                )
            )
        ledger.append(
            SlaLedgerEntry(
                ticket_id=pk,
                metric="first_response",
                cycle=1,
                at=solved_at,
                kind="breached" if pk % 7 == 0 else "fulfilled",
            )
        )
        if len(ledger) >= 10000:
            Survey.objects.bulk_create(surveys)
            SlaLedgerEntry.objects.bulk_create(ledger)
            surveys, ledger = [], []
    Survey.objects.bulk_create(surveys)
    SlaLedgerEntry.objects.bulk_create(ledger)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    print(f"tags, surveys, SLA ledger in {time.perf_counter() - t0:.1f}s")


def _timed(client, url: str, params: dict, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        response = client.get(url, params)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.status_code
    times.sort()
    p95 = times[min(len(times) - 1, max(0, round(0.95 * len(times)) - 1))]
    return statistics.median(times), p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--messages-per-ticket", type=int, default=5)
    parser.add_argument("--runs", type=int, default=20, help="requests per scenario")
    parser.add_argument("--keep", action="store_true", help="reuse the data when the ticket count matches")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    django_setup()

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    from metrics.rollups import rollup_refresh
    from tickets.models import Team, Ticket

    settings.ALLOWED_HOSTS = ["*"]
    if not (args.keep and Ticket.objects.count() == args.tickets):
        _fill(args)
    else:
        print(f"reusing {args.tickets} tickets")

    t0 = time.perf_counter()
    days = rollup_refresh()
    print(f"rollup run (all days on fresh data): {len(days)} days in {time.perf_counter() - t0:.1f}s")
    recent = Ticket.objects.filter(created_at__gte=timezone.now() - dt.timedelta(days=3)).order_by("-pk")
    Ticket.objects.filter(pk__in=recent.values("pk")[:500]).update(updated_at=timezone.now())
    t0 = time.perf_counter()
    days = rollup_refresh()
    took = time.perf_counter() - t0
    print(f"rollup, incremental run after 500 recent tickets changed: {len(days)} days in {took:.1f}s")

    User = get_user_model()
    admin = User.objects.filter(username="bench-manager").first() or User.objects.create_superuser(
        "bench-manager", "bench@example.com", "bench-password-1"
    )
    client = Client()
    client.force_login(admin)
    today = timezone.localdate()
    scenarios = [
        ("last 30 days (default)", {}),
        ("last 365 days", {"date_from": (today - dt.timedelta(days=364)).isoformat(), "date_to": today.isoformat()}),
        ("last 30 days, one channel and team", {"channel": "email", "team": Team.objects.order_by("pk")[0].pk}),
        ("last 30 days, tag filter (live path)", {"tag": "topic-3"}),
    ]
    print(
        f"\n/dashboard/ at {args.tickets} tickets, {args.tickets * args.messages_per_ticket} messages, "
        f"{args.runs} requests each:"
    )
    client.get("/dashboard/")  # warm caches
    for name, params in scenarios:
        params = {k: v for k, v in params.items() if v != ""}
        p50, p95 = _timed(client, "/dashboard/", params, args.runs)
        print(f"  {name:40s} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")


if __name__ == "__main__":
    main()
