"""Data generator for the scale benchmarks: N tickets (default 1,000,000) with about
`--messages-per-ticket` messages each (default 5, so 5,000,000) over every channel.

What it writes, in the database named by BENCH_DATABASE_URL:

- the demo catalogue (organisations, teams, tags, custom fields, macros), `--agents` agents
  spread over the teams (`bench-agent-<n>`, password `bench`), one SLA policy;
- customers (default tickets / 5) with identities matching their channel (email, phone,
  WhatsApp, Messenger, Instagram, Telegram, chat), some in an organisation;
- tickets with a realistic mix of channel, status by age, priority, team, assignee, tags
  and language (English, Portuguese, Russian texts from the demo content plus an order
  number, so searches hit a few or many tickets), messages alternating customer and agent
  with internal notes, audit events (created, status, assignee), and SLA deadlines and
  running clocks on unsolved tickets.

Fast: rows go in with PostgreSQL COPY, one transaction per batch of tickets (their
messages, tags, events and clocks included). Nothing the app relies on is dropped: the
search documents (one stored vector per ticket, tickets migration 0010) are written by their
PostgreSQL triggers as the tickets and messages are COPYed, and their GIN index kept up to
date, so search works as soon as it finishes. Sequences are moved past the
generated ids at the end, then the tables are VACUUM ANALYZEd.

Resumable: the progress (and the next id of every table) is kept in the table
`bench_generate_state`, updated in the same transaction as each batch; kill it at any
moment and run it again to continue (at most one batch is lost). Running it again after it
finished does nothing (or adds tickets up to a larger `--tickets`).

    createdb -h 127.0.0.1 -U postgres bench1m
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench1m .venv/bin/python bench/generate.py
    ... --tickets 200 --batch 100     # a tiny smoke database

As a module: `run(tickets=..., messages_per_ticket=..., ...) -> dict` (used by run_all.py).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import io
import json
import math
import multiprocessing
import random
import sys
import time
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, __import__("os").path.dirname(__file__))

STATE_TABLE = "bench_generate_state"
EVENTS_PER_TICKET = 3
TAGS_PER_TICKET = 4
CLOCKS_PER_TICKET = 2
IDENTITIES_PER_CUSTOMER = 3
KIND_SLOTS = {  # customer k has primary identity kind KIND_SLOTS by k % 20
    "email": range(0, 10),
    "whatsapp": range(10, 12),
    "phone": range(12, 14),
    "chat": range(14, 16),
    "messenger": range(16, 17),
    "instagram": range(17, 18),
    "telegram": range(18, 20),
}
SLOT_KIND = {slot: kind for kind, slots in KIND_SLOTS.items() for slot in slots}
LANG_BY_SLOT = ["en"] * 11 + ["pt-br"] * 5 + ["ru"] * 4  # by (k // 20) % 20
CHANNEL_WEIGHTS = {
    "email": 35, "web": 12, "chat": 12, "whatsapp": 10, "sms": 6, "messenger": 5,
    "instagram": 4, "telegram": 5, "voice": 6, "api": 5,
}  # fmt: skip
CHANNEL_IDENTITY = {
    "email": "email", "web": "email", "api": "email", "chat": "chat", "sms": "phone", "voice": "phone",
    "whatsapp": "whatsapp", "messenger": "messenger", "instagram": "instagram", "telegram": "telegram",
}  # fmt: skip
STATUS_WEIGHTS_BY_AGE = (
    (1, {"new": 35, "open": 33, "pending": 15, "on_hold": 5, "solved": 12, "closed": 0}),
    (5, {"new": 8, "open": 24, "pending": 20, "on_hold": 7, "solved": 41, "closed": 0}),
    (math.inf, {"new": 1, "open": 4, "pending": 4, "on_hold": 2, "solved": 12, "closed": 77}),
)
PRIORITY_WEIGHTS = {"low": 18, "normal": 57, "high": 18, "urgent": 7}
UNSOLVED = {"new", "open", "pending", "on_hold"}
EXTRA_WORDS = (
    "printer laptop router invoice refund password login account delivery parcel courier warranty "
    "screen battery charger subscription upgrade downgrade discount coupon voucher tracking address "
    "payment card bank transfer receipt order cancel return exchange broken damaged missing late "
    "error crash update install backup sync export import report dashboard mobile tablet android "
    "iphone browser chrome firefox safari email notification reminder calendar invite meeting"
).split()


def _cumulative(weights: dict[str, float]) -> tuple[list[str], list[float]]:
    keys = list(weights)
    total, acc = sum(weights.values()), []
    running = 0.0
    for key in keys:
        running += weights[key] / total
        acc.append(running)
    return keys, acc


def _pick(rng: random.Random, table: tuple[list[str], list[float]]) -> str:
    keys, acc = table
    r = rng.random()
    for key, edge in zip(keys, acc, strict=True):
        if r < edge:
            return key
    return keys[-1]


_ESC = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def esc(value: Any) -> str:
    """A value in COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value).translate(_ESC)


class Copier:
    """Rows for one table, sent with one COPY."""

    def __init__(self, table: str, columns: list[str]) -> None:
        self.table, self.columns = table, columns
        self.buf = io.StringIO()
        self.rows = 0

    def add(self, *values: Any) -> None:
        self.buf.write("\t".join(map(esc, values)))
        self.buf.write("\n")
        self.rows += 1

    def flush(self, cursor: Any) -> None:
        if not self.rows:
            return
        self.buf.seek(0)
        cols = ", ".join(f'"{c}"' for c in self.columns)
        cursor.copy_expert(f'COPY "{self.table}" ({cols}) FROM STDIN', self.buf)
        self.buf = io.StringIO()
        self.rows = 0


# --- state -----------------------------------------------------------------------------------------


def _state_load(cursor: Any) -> dict[str, Any] | None:
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (id int PRIMARY KEY, state jsonb NOT NULL)")
    cursor.execute(f"SELECT state FROM {STATE_TABLE} WHERE id = 1")
    row = cursor.fetchone()
    if row is None:
        return None
    return row[0] if isinstance(row[0], dict) else json.loads(row[0])


def _state_save(cursor: Any, state: dict[str, Any]) -> None:
    cursor.execute(
        f"INSERT INTO {STATE_TABLE} (id, state) VALUES (1, %s) ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state",
        [json.dumps(state)],
    )


def _next_id(cursor: Any, table: str) -> int:
    cursor.execute(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"')
    return int(cursor.fetchone()[0])


def _rebase(cursor: Any, state: dict[str, Any]) -> None:
    """Move the id bases of the rows still to come above rows the app wrote meanwhile (a
    benchmark that created tickets, new agents' events...): every row generated so far keeps
    its id, the next ones start past the table's highest id."""
    done_t, done_c = state["tickets_done"], state["customers_done"]
    strides = {
        "ticket": (1, done_t),
        "message": (max(2, 2 * state["messages_per_ticket"] - 2), done_t),
        "event": (EVENTS_PER_TICKET, done_t),
        "ticket_tag": (TAGS_PER_TICKET, done_t),
        "clock": (CLOCKS_PER_TICKET, done_t),
        "customer": (1, done_c),
        "identity": (IDENTITIES_PER_CUSTOMER, done_c),
    }
    for name, (stride, done) in strides.items():
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{ID_TABLES[name]}"')
        highest = int(cursor.fetchone()[0])
        state["ids"][name] = max(state["ids"][name], highest + 1 - done * stride)
    cursor.execute("SELECT COALESCE(MAX(number), 0) FROM tickets_ticket")
    state["ids"]["number"] = max(state["ids"]["number"], int(cursor.fetchone()[0]) + 1 - done_t)


def state_read() -> dict[str, Any] | None:
    """The generator's progress in the current database (None: never run)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [STATE_TABLE])
        if cursor.fetchone()[0] is None:
            return None
        return _state_load(cursor)


# --- fixed set-up (idempotent, through the app's services) --------------------------------------


def _catalog(agents: int) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from tickets.demo.seed import catalog_ensure
    from tickets.models import AgentRole, Organization, Tag, Team
    from tickets.models_sla import SlaPolicy, SlaTarget
    from tickets.services.agents import agent_create
    from tickets.services.events import Actor

    catalog_ensure()
    User = get_user_model()
    teams = list(Team.objects.order_by("id"))
    actor = Actor.system()
    for n in range(agents):
        username = f"bench-agent-{n}"
        if not User.objects.filter(username=username).exists():
            role = AgentRole.ADMIN if n == 0 else AgentRole.AGENT
            agent_create(
                username=username,
                email=f"{username}@helpdesk.example",
                role=role,
                password=None,
                first_name="Bench",
                last_name=f"Agent {n}",
                teams=[teams[n % len(teams)]] + ([teams[(n + 1) % len(teams)]] if n % 3 == 0 else []),
                actor=actor,
            )
    # One password hash for all (hashing 40 times would take longer than the rest of set-up).
    User.objects.filter(username__startswith="bench-agent-", password__startswith="!").update(
        password=make_password("bench")
    )
    team_agents: dict[str, list[int]] = {t.name: [] for t in teams}
    for user in User.objects.filter(username__startswith="bench-agent-").prefetch_related("agent_profile__teams"):
        for team in user.agent_profile.teams.all():
            team_agents[team.name].append(user.pk)
    policy = SlaPolicy.objects.filter(name="Bench standard").first()
    if policy is None:
        policy = SlaPolicy.objects.create(name="Bench standard", position=9_000)
        for metric, minutes in (("first_response", 8 * 60), ("resolution", 5 * 24 * 60)):
            SlaTarget.objects.create(policy=policy, metric=metric, minutes=minutes, business_hours=False)
    return {
        "teams": {t.name: t.pk for t in teams},
        "team_agents": team_agents,
        "tags": dict(Tag.objects.values_list("name", "pk")),
        "organizations": list(Organization.objects.order_by("id").values_list("pk", flat=True)),
        "policy": policy.pk,
    }


# --- customers ---------------------------------------------------------------------------------------


def _customer_rows(state: dict[str, Any], start: int, end: int, cat: dict[str, Any], out: dict[str, Copier]) -> None:
    from tickets.demo import content

    rng = random.Random(f"{state['seed']}-customers-{start}")
    base = state["ids"]["customer"]
    now = state["now_dt"]
    orgs = cat["organizations"]
    for k in range(start, end):
        kind = SLOT_KIND[k % 20]
        language = LANG_BY_SLOT[(k // 20) % 20]
        first, last = content.person_name(rng, language)
        org = orgs[k % len(orgs)] if orgs and kind == "email" and k % 9 == 0 else None
        created = now - dt.timedelta(days=800 * rng.random() ** 1.3)
        out["customer"].add(
            base + k, f"{first} {last}", language, "UTC", "", "standard", True, True, True, False,
            "{}", "", created, None, org,
        )  # fmt: skip
        identities = [kind] + (["email"] if kind != "email" and rng.random() < 0.3 else [])
        if kind == "whatsapp" and rng.random() < 0.4:
            identities.append("phone")
        ident = state["ids"]["identity"] + k * IDENTITIES_PER_CUSTOMER
        for kind_ in identities:
            if kind_ == "email":
                value = f"c{k}@{'example.com' if org is None else f'org{org}.example'}"
                display = value
            elif kind_ in ("phone", "whatsapp"):
                value = f"+1555{k:07d}"
                display = f"+1 555-{k:07d}"
            elif kind_ == "chat":
                value = display = f"visitor-{k:07d}"
            else:
                value = display = str({"messenger": 7_100_000_000_000_000, "instagram": 17_841_400_000_000_000,
                                       "telegram": 610_000_000}[kind_] + k)  # fmt: skip
            out["identity"].add(ident, kind_, value, display, kind_ == "email", created, base + k)
            ident += 1


def _requester(rng: random.Random, customers: int, kind: str) -> int:
    """A customer with an identity of `kind`; a few customers write very often."""
    slots = KIND_SLOTS[kind]
    groups = max(1, customers // 20)
    for _ in range(8):
        k = int(groups * rng.random() ** 1.6) * 20 + slots[rng.randrange(len(slots))]
        if k < customers:
            return k
    return slots[0] if slots[0] < customers else 0


# --- tickets -----------------------------------------------------------------------------------------


def _ticket_rows(state: dict[str, Any], start: int, end: int, cat: dict[str, Any], out: dict[str, Copier]) -> None:
    from tickets.demo import content

    rng = random.Random(f"{state['seed']}-tickets-{start}")
    ids = state["ids"]
    now = state["now_dt"]
    channels = _cumulative(CHANNEL_WEIGHTS)
    priorities = _cumulative(PRIORITY_WEIGHTS)
    by_age = [(limit, _cumulative(w)) for limit, w in STATUS_WEIGHTS_BY_AGE]
    topics = content.TOPICS
    mpt = state["messages_per_ticket"]
    customers = state["customers"]
    team_agents = cat["team_agents"]
    all_agents = sorted({a for agents in team_agents.values() for a in agents})
    policy = cat["policy"]
    cust_base = ids["customer"]
    span_days = state["span_days"]
    max_msgs = max(2, 2 * mpt - 2)
    for i in range(start, end):
        # Every ticket owns a fixed id range in each table, so a batch is a pure function of
        # its position (resumable, and built in a separate process while the last one loads).
        tid = ids["ticket"] + i
        msg_id = ids["message"] + i * max_msgs
        ev_id = ids["event"] + i * EVENTS_PER_TICKET
        tag_id = ids["ticket_tag"] + i * TAGS_PER_TICKET
        clock_id = ids["clock"] + i * CLOCKS_PER_TICKET
        number = ids["number"] + i
        age_days = span_days * rng.random() ** 1.8
        created = now - dt.timedelta(days=age_days)
        status = _pick(rng, next(table for limit, table in by_age if age_days < limit))
        channel = _pick(rng, channels)
        k = _requester(rng, customers, CHANNEL_IDENTITY[channel])
        requester = cust_base + k
        language = LANG_BY_SLOT[(k // 20) % 20]
        topic = topics[rng.randrange(len(topics))]
        text = topic["text"].get(language) or topic["text"]["en"]
        subject, first_body, answer = text
        order_no = f"A{rng.randrange(10**6):06d}"
        team = cat["teams"].get(topic["team"])
        agents = team_agents.get(topic["team"]) or all_agents
        assignee = None if status == "new" and rng.random() < 0.8 else agents[rng.randrange(len(agents))]
        priority = _pick(rng, priorities)
        org = None
        n_msgs = 1 if status == "new" else rng.randint(2, max_msgs)
        # messages spread over the ticket's life
        life = min(age_days, rng.uniform(0.05, 6.0))
        times = sorted(created + dt.timedelta(days=life * rng.random()) for _ in range(n_msgs - 1))
        times.insert(0, created)
        last_customer = last_agent = first_responded = None
        extra = " ".join(rng.choice(EXTRA_WORDS) for _ in range(3))
        for j, when in enumerate(times):
            internal = j > 0 and rng.random() < 0.06
            from_customer = j % 2 == 0 and not internal
            if j == 0:
                body = f"{first_body}\n\nOrder {order_no}. {extra}"
            elif internal:
                body = rng.choice(content.INTERNAL_NOTES) if hasattr(content, "INTERNAL_NOTES") else "Internal note"
                if not isinstance(body, str):
                    body = str(body[0] if isinstance(body, list | tuple) else body)
            elif from_customer:
                body = rng.choice(content.CUSTOMER_FOLLOW_UPS.get(language, content.CUSTOMER_FOLLOW_UPS["en"]))
            elif j == 1:
                body = answer
            else:
                body = rng.choice(content.AGENT_FOLLOW_UPS.get(language, content.AGENT_FOLLOW_UPS["en"]))
            is_email = channel == "email"
            if from_customer:
                last_customer = when
                out["message"].add(
                    msg_id, "inbound", "customer", channel, f"Re: {subject}" if is_email and j else
                    (subject if is_email else ""), body, f"<p>{body}</p>" if is_email else "", False,
                    f"<b{tid}.{j}@bench.example>" if is_email else None, "received", "", 0, "{}", when, None,
                    requester, None, None, tid,
                )  # fmt: skip
            else:
                author = assignee or agents[rng.randrange(len(agents))]
                if not internal:
                    last_agent = when
                    first_responded = first_responded or when
                out["message"].add(
                    msg_id, "outbound", "agent", "internal" if internal else channel,
                    f"Re: {subject}" if is_email and not internal else "", body, "", internal, None,
                    "not_sent" if internal else "delivered", "", 0 if internal else 1, "{}", when,
                    None if internal else when, None, author, None, tid,
                )  # fmt: skip
            msg_id += 1
        updated = times[-1]
        solved_at = closed_at = None
        if status in ("solved", "closed"):
            solved_at = updated + dt.timedelta(minutes=rng.randint(1, 600))
            updated = solved_at
            if status == "closed":
                closed_at = min(now, solved_at + dt.timedelta(days=4))
                updated = closed_at
        updated = min(updated, now)
        frt_due = nrt_due = res_due = None
        clocks: list[tuple[str, str, dt.datetime, dt.datetime | None, dt.datetime | None]] = []
        if status in UNSOLVED:
            # Deadlines in the future (so a sweep has nothing to do by surprise); 5% breached.
            breached = rng.random() < 0.05
            due = now - dt.timedelta(hours=rng.uniform(1, 48)) if breached else now + dt.timedelta(
                hours=rng.uniform(2, 30 * 24))  # fmt: skip
            res_due = due + dt.timedelta(days=3)
            if first_responded is None:
                frt_due = due
                clocks.append(("first_response", "running", due, now - dt.timedelta(hours=1) if breached else None,
                               created))  # fmt: skip
            state_ = "paused" if status in ("pending", "on_hold") else "running"
            clocks.append(("resolution", state_, res_due, None, created))
        out["ticket"].add(
            tid, number, f"{subject} ({order_no})", status, priority, topic["type"], channel, language, "{}",
            frt_due, nrt_due, res_due, created, updated, first_responded, last_customer, last_agent, solved_at,
            closed_at, assignee, None, None, org, requester, team,
        )  # fmt: skip
        for metric, state_, due, breached_at, started in clocks:
            minutes = 8 * 60 if metric == "first_response" else 5 * 24 * 60
            running = state_ == "running"
            out["clock"].add(
                clock_id, metric, 1, state_, minutes, started, started if running else None, "0",
                None if running else updated, "" if running else status, due if running else None,
                None, None, breached_at, None, None, tid, policy,
            )  # fmt: skip
            clock_id += 1
        tags = list(topic.get("tags", ()))
        if rng.random() < 0.15:
            tags.append(rng.choice(list(cat["tags"])))
        for name in list(dict.fromkeys(tags))[:TAGS_PER_TICKET]:
            if name in cat["tags"]:
                out["ticket_tag"].add(tag_id, tid, cat["tags"][name])
                tag_id += 1
        out["event"].add(ev_id, "ticket", tid, "created", "", None, '"new"', json.dumps({"channel": channel}),
                         "customer", created, requester, None, tid)  # fmt: skip
        ev_id += 1
        if assignee is not None:
            out["event"].add(ev_id, "ticket", tid, "changed", "assignee", None,
                             json.dumps({"id": assignee, "label": f"agent {assignee}"}), "{}", "system",
                             times[min(1, len(times) - 1)], None, None, tid)  # fmt: skip
            ev_id += 1
        if status != "new":
            out["event"].add(ev_id, "ticket", tid, "changed", "status", '"new"', json.dumps(status), "{}",
                             "agent", updated, None, assignee, tid)  # fmt: skip
            ev_id += 1


COLUMNS = {
    "customer": ("tickets_customer", [
        "id", "name", "language", "time_zone", "preferred_channel", "tier", "consent_email", "consent_sms",
        "consent_whatsapp", "consent_marketing", "attributes", "notes", "created_at", "user_id",
        "organization_id"]),
    "identity": ("tickets_identity", ["id", "kind", "value", "display", "verified", "created_at", "customer_id"]),
    "ticket": ("tickets_ticket", [
        "id", "number", "subject", "status", "priority", "type", "channel", "language", "custom_fields",
        "first_response_due_at", "next_response_due_at", "resolution_due_at", "created_at", "updated_at",
        "first_responded_at", "last_customer_message_at", "last_agent_message_at", "solved_at", "closed_at",
        "assignee_id", "follow_up_of_id", "merged_into_id", "organization_id", "requester_id", "team_id"]),
    "message": ("tickets_message", [
        "id", "direction", "author_kind", "channel", "subject", "body_text", "body_html", "is_internal",
        "external_id", "delivery_status", "delivery_error", "delivery_attempts", "metadata", "created_at",
        "sent_at", "author_customer_id", "author_user_id", "raw_id", "ticket_id"]),
    "clock": ("tickets_slaclock", [
        "id", "metric", "cycle", "state", "target_minutes", "started_at", "running_since", "elapsed",
        "paused_at", "paused_status", "due_at", "warn_at", "warned_at", "breached_at", "ended_at",
        "calendar_id", "ticket_id", "policy_id"]),
    "ticket_tag": ("tickets_ticket_tags", ["id", "ticket_id", "tag_id"]),
    "event": ("tickets_event", [
        "id", "object_type", "object_id", "verb", "field", "old_value", "new_value", "data", "actor_kind",
        "created_at", "actor_customer_id", "actor_user_id", "ticket_id"]),
}  # fmt: skip
ID_TABLES = {
    "customer": "tickets_customer", "identity": "tickets_identity", "ticket": "tickets_ticket",
    "message": "tickets_message", "clock": "tickets_slaclock", "ticket_tag": "tickets_ticket_tags",
    "event": "tickets_event",
}  # fmt: skip


def _copiers(*names: str) -> dict[str, Copier]:
    return {name: Copier(*COLUMNS[name]) for name in names}


def _build(state: dict[str, Any], job: tuple[str, int, int], cat: dict[str, Any]) -> tuple[list, float]:
    """One batch as COPY text per table (runs in the child process)."""
    t0 = time.perf_counter()
    state = dict(state, now_dt=dt.datetime.fromisoformat(state["now"]))
    kind, start, end = job
    if kind == "customers":
        out = _copiers("customer", "identity")
        _customer_rows(state, start, end, cat, out)
    else:
        out = _copiers("ticket", "message", "clock", "ticket_tag", "event")
        _ticket_rows(state, start, end, cat, out)
    return [(c.table, c.columns, c.buf.getvalue(), c.rows) for c in out.values()], time.perf_counter() - t0


class Progress:
    def __init__(self, label: str, total: int, done: int, quiet: bool) -> None:
        self.label, self.total, self.start_done, self.quiet = label, total, done, quiet
        self.t0 = time.perf_counter()

    def show(self, done: int, extra: str = "") -> None:
        if self.quiet:
            return
        elapsed = time.perf_counter() - self.t0
        rate = (done - self.start_done) / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else float("inf")
        eta_s = f"{eta / 60:.1f} min" if math.isfinite(eta) else "?"
        print(
            f"{self.label:9} {done:>10,}/{self.total:,} ({done / max(1, self.total):6.1%})  {rate:,.0f}/s  "
            f"ETA {eta_s}  {extra}",
            flush=True,
        )


def run(
    *,
    tickets: int = 1_000_000,
    messages_per_ticket: int = 5,
    customers: int | None = None,
    agents: int = 40,
    batch: int = 10_000,
    seed: int = 1,
    span_days: int = 730,
    quiet: bool = False,
    vacuum: bool = True,
    workers: int = 1,
) -> dict[str, Any]:
    """Generate (or finish generating) the data set; returns counts and timings."""
    from django.db import connection, transaction
    from django.utils import timezone

    t_start = time.perf_counter()
    customers = customers if customers is not None else max(20, tickets // 5)
    cat = _catalog(agents)  # first: it writes events through the app's services
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (id int PRIMARY KEY, state jsonb NOT NULL)")
        cursor.execute(f"LOCK TABLE {STATE_TABLE} IN EXCLUSIVE MODE NOWAIT")
        state = _state_load(cursor)
        if state is None:
            now = timezone.now().replace(microsecond=0)
            state = {
                "seed": seed,
                "now": now.isoformat(),
                "messages_per_ticket": messages_per_ticket,
                "customers": customers,
                "span_days": span_days,
                "customers_done": 0,
                "tickets_done": 0,
                "tickets": tickets,
                "finished": False,
                "seconds": 0.0,
                "ids": {name: _next_id(cursor, table) for name, table in ID_TABLES.items()},
            }
            cursor.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM tickets_ticket")
            state["ids"]["number"] = max(int(cursor.fetchone()[0]), 100_000)
            _state_save(cursor, state)
    if state["finished"] and state["tickets"] >= tickets:
        if not quiet:
            print(f"already generated: {state['tickets_done']:,} tickets (nothing to do)")
        return _summary(state, 0.0)
    if tickets > state["tickets"]:
        state["tickets"] = tickets
        state["finished"] = False
    state["now_dt"] = dt.datetime.fromisoformat(state["now"])
    with transaction.atomic(), connection.cursor() as cursor:
        _rebase(cursor, state)

    def save(cursor: Any) -> None:
        _state_save(cursor, {k: v for k, v in state.items() if k != "now_dt"})

    # Customers, then tickets with their messages, tags, events and SLA clocks: a child
    # process builds the next batches while this one COPYs the last.
    plain = {k: v for k, v in state.items() if k != "now_dt"}
    jobs: list[tuple[str, int, int]] = []
    for start in range(state["customers_done"], state["customers"], batch * 2):
        jobs.append(("customers", start, min(state["customers"], start + batch * 2)))
    for start in range(state["tickets_done"], state["tickets"], batch):
        jobs.append(("tickets", start, min(state["tickets"], start + batch)))
    connection.close()  # never share the socket with the child
    ctx = multiprocessing.get_context("fork")
    progress = {
        "customers": Progress("customers", state["customers"], state["customers_done"], quiet),
        "tickets": Progress("tickets", state["tickets"], state["tickets_done"], quiet),
    }
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        pending = [pool.submit(_build, plain, job, cat) for job in jobs[: workers + 1]]
        next_job = len(pending)
        for kind, _start, end in jobs:
            built, build_s = pending.pop(0).result()
            if next_job < len(jobs):
                pending.append(pool.submit(_build, plain, jobs[next_job], cat))
                next_job += 1
            t1 = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cursor:
                for table, columns, text, _rows in built:
                    cols = ", ".join(f'"{c}"' for c in columns)
                    cursor.copy_expert(f'COPY "{table}" ({cols}) FROM STDIN', io.StringIO(text))
                state[f"{kind}_done"] = end
                state["seconds"] = state.get("seconds", 0.0) + (time.perf_counter() - t1)
                save(cursor)
            rows = {table: n for table, _c, _t, n in built}
            progress[kind].show(
                end,
                f"(build {build_s:.1f} s, copy {time.perf_counter() - t1:.1f} s; "
                f"{rows.get('tickets_message', rows.get('tickets_identity', 0)):,} "
                f"{'messages' if kind == 'tickets' else 'identities'})",
            )

    t_fin = time.perf_counter()
    _finish(state, vacuum=vacuum, quiet=quiet)
    with transaction.atomic(), connection.cursor() as cursor:
        state["finished"] = True
        save(cursor)
    return _summary(state, time.perf_counter() - t_start, finish_s=time.perf_counter() - t_fin)


def _finish(state: dict[str, Any], *, vacuum: bool, quiet: bool) -> None:
    """Move sequences past the generated ids, then VACUUM ANALYZE."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ID_TABLES.values():
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'GREATEST((SELECT COALESCE(MAX(id), 0) FROM "{table}"), 1))'
            )
        cursor.execute("SELECT to_regclass('tickets_ticket_number_seq')")
        if cursor.fetchone()[0] is not None:
            cursor.execute(
                "SELECT setval('tickets_ticket_number_seq', GREATEST((SELECT COALESCE(MAX(number), 0) "
                "FROM tickets_ticket), (SELECT last_value FROM tickets_ticket_number_seq)))"
            )
        tables = list(ID_TABLES.values())
        # The search documents (written by triggers): their statistics choose the search's plan.
        cursor.execute("SELECT to_regclass('tickets_ticketsearchdocument')")
        if cursor.fetchone()[0] is not None:
            tables.append("tickets_ticketsearchdocument")
        t0 = time.perf_counter()
        for table in tables:
            cursor.execute(f'{"VACUUM (ANALYZE)" if vacuum else "ANALYZE"} "{table}"')
        if not quiet:
            print(f"{'vacuum' if vacuum else 'analyze'}   {time.perf_counter() - t0:.1f} s", flush=True)


def _summary(state: dict[str, Any], seconds: float, finish_s: float = 0.0) -> dict[str, Any]:
    from django.db import connection

    counts = {}
    with connection.cursor() as cursor:
        for name, table in ID_TABLES.items():
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table])
            counts[name] = int(cursor.fetchone()[0])
    return {
        "tickets": state["tickets_done"],
        "customers": state["customers_done"],
        "rows_estimate": counts,
        "seconds": round(seconds, 1),
        "load_seconds": round(state.get("seconds", 0.0), 1),
        "finish_seconds": round(finish_s, 1),
        "finished": state.get("finished", False) or seconds > 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--messages-per-ticket", type=int, default=5)
    parser.add_argument("--customers", type=int, default=None, help="default: tickets / 5")
    parser.add_argument("--agents", type=int, default=40)
    parser.add_argument("--batch", type=int, default=10_000, help="tickets per transaction")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="processes building batches")
    parser.add_argument("--no-vacuum", action="store_true", help="ANALYZE only at the end")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    args = parser.parse_args()
    from _setup import django_setup

    django_setup()
    summary = run(
        tickets=args.tickets,
        messages_per_ticket=args.messages_per_ticket,
        customers=args.customers,
        agents=args.agents,
        batch=args.batch,
        seed=args.seed,
        vacuum=not args.no_vacuum,
        quiet=args.json,
        workers=args.workers,
    )
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"done: {summary}")


if __name__ == "__main__":
    main()
