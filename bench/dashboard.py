"""Dashboard latency: builds the rollups (a full rebuild, then an incremental refresh after 500
recent tickets change) and requests /dashboard/ and /api/v1/metrics/ repeatedly over 30, 90
and 365 days, with and without filters, printing p50 / p95 / p99 per scenario.

    createdb -h 127.0.0.1 -U postgres bench
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/dashboard.py --tickets 200000

Data: a database that already holds tickets (e.g. one made by bench/generate.py) is used as
it is; an empty one is filled with --tickets tickets over a year (5 messages each by default),
surveys, tags and SLA ledger rows. --replace empties and refills it. --json prints one JSON
line of figures at the end (bench/run_all.py reads it). --no-rebuild skips the full rollup
rebuild when the rollups are already built.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import statistics
import sys
import time

from _setup import django_setup


def _fill(args) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from metrics.models import DailyRollup, RollupState, Survey
    from tickets.models import Customer, Message, Tag, Team, Ticket
    from tickets.models_sla import SlaLedgerEntry

    rng = random.Random(args.seed)
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE tickets_ticket, tickets_customer, tickets_tag, metrics_dailyrollup, "
            "metrics_rollupstate RESTART IDENTITY CASCADE"
        )
    for model in (DailyRollup, RollupState):
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


def _timed(client, url: str, params: dict, runs: int) -> dict:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        response = client.get(url, params)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, params, response.status_code)
    times.sort()

    def pct(p: float) -> float:
        return round(times[min(len(times) - 1, max(0, math.ceil(p * len(times)) - 1))], 1)

    return {"p50": round(statistics.median(times), 1), "p95": pct(0.95), "p99": pct(0.99), "n": len(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=20_000, help="tickets to generate into an empty database")
    parser.add_argument("--messages-per-ticket", type=int, default=5)
    parser.add_argument("--runs", type=int, default=30, help="requests per scenario")
    parser.add_argument("--replace", action="store_true", help="empty the database and generate --tickets")
    parser.add_argument("--keep", action="store_true", help=argparse.SUPPRESS)  # the default now
    parser.add_argument("--no-rebuild", action="store_true", help="keep built rollups (refresh only)")
    parser.add_argument(
        "--rebuild-days",
        type=int,
        help="rebuild only the last N days (enough for the scenarios: 365); older days keep what they have",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line of figures at the end")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    out = (lambda *a, **k: print(*a, **k, file=sys.stderr)) if args.json else print
    django_setup()

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from metrics.models import DailyRollup, RollupState
    from metrics.rollups import progress_printer, rollup_rebuild, rollup_refresh, rollup_stored_until
    from tickets.models import Message, Tag, Team, Ticket

    settings.ALLOWED_HOSTS = ["*"]
    figures: dict = {}
    if args.replace or not Ticket.objects.exists():
        _fill(args)
    tickets = Ticket.objects.count()
    with connection.cursor() as cur:
        cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [Message._meta.db_table])
        messages = cur.fetchone()[0]
    if messages <= 0:
        messages = Message.objects.count()
    figures.update(tickets=tickets, messages=messages)
    out(f"database: {tickets} tickets, about {messages} messages")

    if not (args.no_rebuild and rollup_stored_until() is not None):
        t0 = time.perf_counter()
        if args.rebuild_days:
            started = timezone.now()
            n_days, rows = rollup_rebuild(
                day_from=timezone.localdate() - dt.timedelta(days=args.rebuild_days - 1),
                progress=progress_printer(out, every=30),
            )
            # A ranged rebuild leaves the watermark alone; the scenarios read only these days.
            state, _ = RollupState.objects.get_or_create(name="daily")
            if state.watermark is None or state.watermark < started:
                RollupState.objects.filter(pk=state.pk).update(watermark=started)
        else:
            n_days, rows = rollup_rebuild(progress=progress_printer(out, every=30))
        figures["rollup_rebuild_s"] = round(time.perf_counter() - t0, 1)
        out(f"rollup rebuild: {n_days} days, {rows} rows in {figures['rollup_rebuild_s']}s")
    figures["rollup_rows"] = DailyRollup.objects.count()
    recent = Ticket.objects.filter(created_at__gte=timezone.now() - dt.timedelta(days=3)).order_by("-pk")
    Ticket.objects.filter(pk__in=list(recent.values_list("pk", flat=True)[:500])).update(updated_at=timezone.now())
    t0 = time.perf_counter()
    days = rollup_refresh()
    figures["rollup_incremental_s"] = round(time.perf_counter() - t0, 1)
    out(f"rollup refresh after 500 recent tickets changed: {len(days)} days in {figures['rollup_incremental_s']}s")

    User = get_user_model()
    admin = User.objects.filter(username="bench-manager").first() or User.objects.create_superuser(
        "bench-manager", "bench@example.com", "bench-password-1"
    )
    client = Client()
    client.force_login(admin)
    today = timezone.localdate()

    def days_back(n: int) -> dict:
        return {"date_from": (today - dt.timedelta(days=n - 1)).isoformat(), "date_to": today.isoformat()}

    team = Team.objects.order_by("pk").values_list("pk", flat=True).first()
    agent = (
        Ticket.objects.filter(created_at__gte=timezone.now() - dt.timedelta(days=7), assignee__isnull=False)
        .values_list("assignee_id", flat=True)
        .first()
    )
    channel = Ticket.objects.order_by("-pk").values_list("channel", flat=True).first() or "email"
    tag = Tag.objects.filter(tickets__created_at__gte=timezone.now() - dt.timedelta(days=7)).values_list(
        "name", flat=True
    ).first() or (Tag.objects.values_list("name", flat=True).first() or "")
    scenarios = [
        ("dashboard_30d", "/dashboard/", {}),
        ("dashboard_90d", "/dashboard/", days_back(90)),
        ("dashboard_365d", "/dashboard/", days_back(365)),
        ("dashboard_30d_team_channel", "/dashboard/", {"team": team, "channel": channel}),
        ("dashboard_365d_agent", "/dashboard/", {**days_back(365), "agent": agent}),
        ("dashboard_365d_priority", "/dashboard/", {**days_back(365), "priority": "high"}),
        ("dashboard_365d_tag", "/dashboard/", {**days_back(365), "tag": tag}),
        # A tag with another filter has no rollup: computed from the tickets (few runs, a week).
        ("dashboard_7d_tag_and_channel_live", "/dashboard/", {**days_back(7), "tag": tag, "channel": channel}),
        ("dashboard_api_30d", "/api/v1/metrics/", {}),
        ("dashboard_api_365d", "/api/v1/metrics/", days_back(365)),
    ]
    out(f"\n{args.runs} requests each (server time through the Django test client):")
    client.get("/dashboard/")  # warm caches
    for key, url, params in scenarios:
        params = {k: v for k, v in params.items() if v not in ("", None)}
        try:
            if not key.endswith("_live"):
                client.get(url, params)  # warm
            figures[key] = _timed(client, url, params, min(args.runs, 5) if key.endswith("_live") else args.runs)
        except AssertionError as exc:
            figures[key] = {"error": str(exc)}
            out(f"  {key:36s} failed: {exc}")
            continue
        f = figures[key]
        out(f"  {key:36s} p50 {f['p50']:8.1f} ms   p95 {f['p95']:8.1f} ms   p99 {f['p99']:8.1f} ms")
    if args.json:
        print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
