"""Dashboard latency: builds the rollups (a full rebuild, then an incremental refresh after 500
recent tickets change) and requests /dashboard/ and /api/v1/metrics/ repeatedly over 30 and 365
days (--days), unfiltered, with every filter alone and with a tag combined with the others,
printing p50 / p95 / p99 per scenario with the dashboard data cache emptied before each request
(cold) and served from it (warm).

    createdb -h 127.0.0.1 -U postgres bench
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/dashboard.py --tickets 200000

Data: a database that already holds tickets (e.g. one made by bench/generate.py) is used as
it is; an empty one is filled with --tickets tickets over a year (5 messages each by default),
surveys, tags and SLA ledger rows. --replace empties and refills it. --json prints one JSON
line of figures at the end (bench/run_all.py reads it). --no-rebuild skips the full rollup
rebuild when the rollups are already built; --no-refresh the incremental refresh step;
--no-migrate leaves the schema of a shared database alone.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench1m .venv/bin/python bench/dashboard.py \\
        --no-migrate --no-rebuild --no-refresh --runs 20
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


def _timed(client, url: str, params: dict, runs: int, before=None) -> dict:
    """p50/p95/p99 of `runs` requests (server time through the test client); `before()` runs
    before each request, untimed (e.g. empty the page cache)."""
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        t0 = time.perf_counter()
        response = client.get(url, params)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, params, response.status_code)
    times.sort()

    def pct(p: float) -> float:
        return round(times[min(len(times) - 1, max(0, math.ceil(p * len(times)) - 1))], 1)

    return {"p50": round(statistics.median(times), 1), "p95": pct(0.95), "p99": pct(0.99), "n": len(times)}


def _django_setup(migrate: bool) -> None:
    if migrate:
        django_setup()
        return
    # A shared database whose schema others own: no migrate, only Django.
    import os
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        sys.exit("Set BENCH_DATABASE_URL.")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


# Filter combinations measured over 30 and 365 days: every filter alone, a tag with each other
# filter and with two, and everything at once.
COMBINATIONS = (
    (),
    ("team",),
    ("agent",),
    ("channel",),
    ("priority",),
    ("tag",),
    ("team", "channel"),
    ("tag", "team"),
    ("tag", "agent"),
    ("tag", "channel"),
    ("tag", "priority"),
    ("tag", "agent", "channel"),
    ("tag", "team", "priority"),
    ("team", "agent", "channel", "priority", "tag"),
)


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
    parser.add_argument("--no-migrate", action="store_true", help="do not run migrate (a shared database)")
    parser.add_argument("--no-refresh", action="store_true", help="skip the incremental refresh step")
    parser.add_argument("--days", default="30,365", help="date ranges to measure, comma separated (default 30,365)")
    parser.add_argument("--only", help="measure only scenarios whose name contains this")
    args = parser.parse_args()
    out = (lambda *a, **k: print(*a, **k, file=sys.stderr)) if args.json else print
    _django_setup(not args.no_migrate)

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import Count
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
    if not args.no_refresh:
        recent = Ticket.objects.filter(created_at__gte=timezone.now() - dt.timedelta(days=3)).order_by("-pk")
        Ticket.objects.filter(pk__in=list(recent.values_list("pk", flat=True)[:500])).update(updated_at=timezone.now())
        t0 = time.perf_counter()
        days = rollup_refresh()
        figures["rollup_incremental_s"] = round(time.perf_counter() - t0, 1)
        out(f"rollup refresh after 500 recent tickets changed: {len(days)} days in {figures['rollup_incremental_s']}s")

    User = get_user_model()
    if args.no_migrate:
        # A shared database: write nothing outside the metrics tables (sessions in memory, no
        # last-login update, an existing superuser).
        from django.contrib.auth import user_logged_in
        from django.contrib.auth.models import update_last_login

        settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
        admin = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    else:
        admin = User.objects.filter(username="bench-manager").first() or User.objects.create_superuser(
            "bench-manager", "bench@example.com", "bench-password-1"
        )
    client = Client()
    client.force_login(admin)
    today = timezone.localdate()

    def days_back(n: int) -> dict:
        return {"date_from": (today - dt.timedelta(days=n - 1)).isoformat(), "date_to": today.isoformat()}

    # Filter values that match many tickets: the busiest team, agent, channel and tag of the last week.
    week = Ticket.objects.filter(created_at__gte=timezone.now() - dt.timedelta(days=7))

    def busiest(field: str):
        row = week.exclude(**{f"{field}__isnull": True}).values(field).annotate(n=Count("pk")).order_by("-n").first()
        return row[field] if row else None

    values = {
        "team": busiest("team_id") or Team.objects.order_by("pk").values_list("pk", flat=True).first(),
        "agent": busiest("assignee_id"),
        "channel": busiest("channel") or "email",
        "priority": "high",
        "tag": Tag.objects.filter(pk=busiest("tags__id")).values_list("name", flat=True).first()
        or (Tag.objects.values_list("name", flat=True).first() or ""),
    }
    figures["filter_values"] = values
    out(f"filter values: {values}")
    scenarios = []
    for n_days in (int(d) for d in args.days.split(",")):
        for combo in COMBINATIONS:
            name = f"dashboard_{n_days}d" + ("_" + "_".join(combo) if combo else "")
            scenarios.append((name, "/dashboard/", {**days_back(n_days), **{k: values[k] for k in combo}}))
        scenarios.append((f"dashboard_api_{n_days}d", "/api/v1/metrics/", days_back(n_days)))
        scenarios.append(
            (
                f"dashboard_api_{n_days}d_tag_team",
                "/api/v1/metrics/",
                {**days_back(n_days), "tag": values["tag"], "team": values["team"]},
            )
        )
    if args.only:
        scenarios = [s for s in scenarios if args.only in s[0]]
    from metrics.page_cache import dashboard_cache_forget

    out(f"\n{args.runs} requests each (server time through the Django test client); cold: the dashboard")
    out("data cache emptied before each request (database and OS caches stay warm); warm: served from it")
    client.get("/dashboard/")  # warm the process (imports, templates)
    for key, url, params in scenarios:
        params = {k: v for k, v in params.items() if v not in ("", None)}
        try:
            client.get(url, params)  # warm the database's buffers for these rows
            figures[key] = _timed(client, url, params, args.runs, before=dashboard_cache_forget)
            figures[key + "_warm"] = _timed(client, url, params, args.runs)
        except AssertionError as exc:
            figures[key] = {"error": str(exc)}
            out(f"  {key:44s} failed: {exc}")
            continue
        cold, warm = figures[key], figures[key + "_warm"]
        out(
            f"  {key:44s} cold p50 {cold['p50']:7.1f}  p95 {cold['p95']:7.1f}  p99 {cold['p99']:7.1f} ms"
            f"   warm p50 {warm['p50']:6.1f}  p95 {warm['p95']:6.1f} ms"
        )
    if args.json:
        print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
