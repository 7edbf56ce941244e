"""Realistic demo data, fast enough for 100,000 tickets.

Demo users, teams, organisations, tags, macros and custom fields go through the services
(they are few and each leaves its audit Event). Customers, identities, tickets, messages,
tag links and events are many: they are built in memory with the same field semantics the
services use and written with `bulk_create` in batches, one transaction per batch of tickets.

Everything random comes from one `random.Random(seed)`, so a seed gives the same names,
texts, statuses and relative times on every run; times are relative to "now".
"""

from __future__ import annotations

import math
import random
import sys
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from tqdm import tqdm

from ..identities import normalize
from ..models import (
    ActorKind,
    AgentProfile,
    AgentRole,
    AuthorKind,
    Channel,
    Customer,
    CustomField,
    DeliveryStatus,
    Event,
    Identity,
    IdentityKind,
    Macro,
    Message,
    MessageDirection,
    Organization,
    OrganizationDomain,
    Tag,
    Team,
    Ticket,
    TicketStatus,
)
from ..numbers import ticket_numbers_reserve
from ..services.agents import agent_create
from ..services.customers import customer_create, identity_add
from ..services.events import Actor, event_record
from . import content

BATCH_SIZE = 2000

AGENT_URL = "/agent/"
ADMIN_URL = "/admin/"
PORTAL_URL = "/support/"


@dataclass(frozen=True)
class DemoAgent:
    username: str
    password: str
    role: str
    first_name: str
    last_name: str
    language: str
    teams: tuple[str, ...]


DEMO_AGENTS = (
    DemoAgent("admin", "admin-demo", AgentRole.ADMIN, "Ada", "Whitmore", "en", ("Technical support",)),
    DemoAgent(
        "manager", "manager-demo", AgentRole.MANAGER, "Marta", "Quintero", "en",
        ("Billing", "Technical support", "Shipping"),
    ),
    DemoAgent("alice", "alice-demo", AgentRole.AGENT, "Alice", "Brandt", "en", ("Technical support", "Shipping")),
    DemoAgent("bruno", "bruno-demo", AgentRole.AGENT, "Bruno", "Castilho", "pt-br", ("Billing", "Shipping")),
    DemoAgent("lena", "lena-demo", AgentRole.LIGHT_AGENT, "Lena", "Orlova", "ru", ("Technical support",)),
)
PORTAL_USERNAME = "customer"
PORTAL_PASSWORD = "customer-demo"
PORTAL_NAME = ("Dana", "Fairweather")

# Who answers each team's tickets (light agents only leave internal notes).
TEAM_RESPONDERS = {
    "Billing": ("bruno", "manager"),
    "Technical support": ("alice", "admin", "manager"),
    "Shipping": ("alice", "bruno"),
}
TEAM_NOTE_WRITERS = {"Technical support": ("lena", "alice")}

# How tickets arrive, roughly as a mid-sized shop sees it.
CHANNEL_WEIGHTS = {
    Channel.EMAIL: 30, Channel.WEB: 12, Channel.CHAT: 12, Channel.WHATSAPP: 12, Channel.SMS: 6,
    Channel.MESSENGER: 6, Channel.INSTAGRAM: 5, Channel.TELEGRAM: 6, Channel.VOICE: 6, Channel.API: 5,
}
# The identity a ticket's requester needs for its channel.
CHANNEL_IDENTITY = {
    Channel.EMAIL: IdentityKind.EMAIL, Channel.WEB: IdentityKind.EMAIL, Channel.API: IdentityKind.EMAIL,
    Channel.CHAT: IdentityKind.CHAT, Channel.SMS: IdentityKind.PHONE, Channel.VOICE: IdentityKind.PHONE,
    Channel.WHATSAPP: IdentityKind.WHATSAPP, Channel.MESSENGER: IdentityKind.MESSENGER,
    Channel.INSTAGRAM: IdentityKind.INSTAGRAM, Channel.TELEGRAM: IdentityKind.TELEGRAM,
}
IDENTITY_CHANNEL = {
    IdentityKind.EMAIL: Channel.EMAIL, IdentityKind.PHONE: Channel.SMS, IdentityKind.WHATSAPP: Channel.WHATSAPP,
    IdentityKind.MESSENGER: Channel.MESSENGER, IdentityKind.INSTAGRAM: Channel.INSTAGRAM,
    IdentityKind.TELEGRAM: Channel.TELEGRAM, IdentityKind.CHAT: Channel.CHAT,
}
PRIMARY_KIND_WEIGHTS = {
    "en": {"email": 50, "whatsapp": 10, "phone": 8, "chat": 12, "messenger": 9, "instagram": 7, "telegram": 4},
    "pt-br": {"email": 35, "whatsapp": 30, "phone": 6, "chat": 10, "messenger": 6, "instagram": 9, "telegram": 4},
    "ru": {"email": 40, "whatsapp": 8, "phone": 8, "chat": 10, "messenger": 3, "instagram": 6, "telegram": 25},
}
# Channels whose messages read as one running conversation (no subject line of their own).
CHAT_LIKE = {Channel.CHAT, Channel.SMS, Channel.WHATSAPP, Channel.MESSENGER, Channel.INSTAGRAM, Channel.TELEGRAM}
FORMAL = {Channel.EMAIL, Channel.WEB, Channel.API}

# Share of tickets by status, by age of the ticket (days).
STATUS_WEIGHTS_BY_AGE = (
    (1, {"new": 35, "open": 33, "pending": 15, "on_hold": 5, "solved": 12, "closed": 0}),
    (5, {"new": 8, "open": 24, "pending": 20, "on_hold": 7, "solved": 41, "closed": 0}),
    (math.inf, {"new": 2, "open": 6, "pending": 6, "on_hold": 3, "solved": 13, "closed": 70}),
)
PUBLIC_MESSAGES = {
    "new": (1,),
    "open": (1, 3, 3, 5),
    "pending": (2, 2, 4, 6),
    "on_hold": (2, 4),
    "solved": (2, 2, 4, 6),
    "closed": (2, 4, 4, 6),
}
PRIORITY_WEIGHTS = {"low": 18, "normal": 57, "high": 18, "urgent": 7}
# Solved tickets close automatically after this long without a reply.
AUTO_CLOSE_AFTER = timedelta(days=4)
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 7, 11, 14, 14, 13, 11, 12, 13, 13, 12, 10, 8, 7, 6, 4, 3, 2]


@dataclass
class DemoLogin:
    username: str
    password: str
    role: str
    url: str
    existed: bool


@dataclass
class SeedReport:
    tickets: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


# --- Users and catalogue (few rows, through the services) ---------------------------------------


def demo_users_ensure() -> list[DemoLogin]:
    """Create the demo agents and the portal customer unless they exist; never touches the
    password of an existing user."""
    catalog_ensure()
    actor = Actor.system()
    User = get_user_model()
    teams = {team.name: team for team in Team.objects.all()}
    logins = []
    for demo in DEMO_AGENTS:
        user = User.objects.filter(username=demo.username).first()
        existed = user is not None
        if user is None:
            agent_create(
                username=demo.username,
                email=f"{demo.username}@helpdesk.example",
                role=demo.role,
                password=demo.password,
                first_name=demo.first_name,
                last_name=demo.last_name,
                teams=[teams[name] for name in demo.teams if name in teams],
                language=demo.language,
                actor=actor,
            )
        logins.append(
            DemoLogin(demo.username, demo.password, str(AgentRole(demo.role).label), AGENT_URL, existed)
        )
    manager = User.objects.filter(username="manager").first()
    if manager is not None:
        Team.objects.filter(lead__isnull=True).update(lead=manager)

    portal_user = User.objects.filter(username=PORTAL_USERNAME).first()
    existed = portal_user is not None
    if portal_user is None:
        portal_customer_create()
    logins.append(DemoLogin(PORTAL_USERNAME, PORTAL_PASSWORD, "Customer (portal)", PORTAL_URL, existed))
    return logins


def portal_customer_create() -> Customer:
    actor = Actor.system()
    User = get_user_model()
    first, last = PORTAL_NAME
    email = "dana.fairweather@mailbox.example"
    with transaction.atomic():
        user = User.objects.create_user(
            username=PORTAL_USERNAME, email=email, password=PORTAL_PASSWORD, first_name=first, last_name=last
        )
        customer = customer_create(
            name=f"{first} {last}", language="en", actor=actor, preferred_channel=Channel.EMAIL,
            time_zone="Europe/London",
        )
        customer.user = user
        customer.save(update_fields=["user"])
        event_record(obj=customer, verb="changed", field="user", old=None, new=user, actor=actor)
        identity_add(customer=customer, kind=IdentityKind.EMAIL, value=email, actor=actor, verified=True)
        identity_add(customer=customer, kind=IdentityKind.CHAT, value="visitor-dana-fairweather", actor=actor)
        identity_add(customer=customer, kind=IdentityKind.WHATSAPP, value="+44 7700 900123", actor=actor)
    return customer


def catalog_ensure() -> None:
    """Organisations with their domains, teams, tags, custom fields and macros."""
    actor = Actor.system()
    with transaction.atomic():
        for name, tier, domains, notes in content.ORGANIZATIONS:
            org, created = Organization.objects.get_or_create(name=name, defaults={"tier": tier, "notes": notes})
            if created:
                event_record(obj=org, verb="created", new={"name": name, "tier": tier}, actor=actor)
            for domain in domains:
                if not OrganizationDomain.objects.filter(domain=domain).exists():
                    OrganizationDomain.objects.create(organization=org, domain=domain)
                    event_record(obj=org, verb="organizationdomain_added", new={"domain": domain}, actor=actor)
        for name, description in content.TEAMS:
            team, created = Team.objects.get_or_create(name=name, defaults={"description": description})
            if created:
                event_record(obj=team, verb="created", new={"name": name}, actor=actor)
        for name, color in content.TAGS:
            tag, created = Tag.objects.get_or_create(name=name, defaults={"color": color})
            if created:
                event_record(obj=tag, verb="created", new={"name": name}, actor=actor)
        for key, label, kind, choices, required, visible, position in content.CUSTOM_FIELDS:
            custom, created = CustomField.objects.get_or_create(
                key=key,
                defaults={
                    "label": label, "type": kind, "choices": choices, "required_to_solve": required,
                    "visible_to_customers": visible, "position": position,
                },
            )
            if created:
                event_record(obj=custom, verb="created", new={"key": key, "label": label}, actor=actor)
        teams = {team.name: team for team in Team.objects.all()}
        for name, description, body, actions, team_name in content.MACROS:
            if Macro.objects.filter(name=name).exists():
                continue
            macro = Macro.objects.create(
                name=name, description=description, body=body, actions=actions,
                team=teams.get(team_name) if team_name else None,
            )
            event_record(obj=macro, verb="created", new={"name": name}, actor=actor)


# --- Customers -----------------------------------------------------------------------------------


@dataclass
class _CustomerPlan:
    pk: int
    first_name: str
    language: str
    organization_id: int | None
    tier: str
    kinds: tuple[str, ...]


def _phone(language: str, n: int) -> tuple[str, str]:
    """(as a person would write it, normalised) for a fictional number unique to n."""
    digits = f"{n % 10**7:07d}"
    if language == "pt-br":
        shown = f"+55 (11) 95{digits[:3]}-{digits[3:]}"
    elif language == "ru":
        shown = f"+7 999 {digits[:3]}-{digits[3:5]}-{digits[5:]}"
    else:
        shown = f"+1 555-{digits[:3]}-{digits[3:]}"
    return shown, normalize(IdentityKind.PHONE, shown)


class DemoSeeder:
    def __init__(self, *, tickets: int, seed: int | None, progress: bool = True) -> None:
        self.count = max(0, tickets)
        self.rng = random.Random(seed)
        self.progress = progress
        self.now = timezone.now().replace(microsecond=0)
        self.customers: list[_CustomerPlan] = []
        self.by_kind: dict[str, list[int]] = {kind: [] for kind in IdentityKind.values}

    # The demo users, teams and tags exist (demo_users_ensure) before this runs.
    def run(self) -> SeedReport:
        User = get_user_model()
        self.users = {u.username: u for u in User.objects.filter(username__in=[a.username for a in DEMO_AGENTS])}
        self.teams = {team.name: team for team in Team.objects.all()}
        self.tags = {tag.name: tag for tag in Tag.objects.all()}
        self.orgs = {org.name: org for org in Organization.objects.prefetch_related("domains")}
        self.portal = Customer.objects.filter(user__username=PORTAL_USERNAME).first()
        self.portal_budget = 8
        if self.count:
            self._customers_create(max(30, self.count // 3))
            self._tickets_create()
            _analyze()
        return SeedReport(tickets=self.count, counts=row_counts())

    def _bar(self, total: int, desc: str, unit: str) -> tqdm:
        return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=not self.progress,
                    dynamic_ncols=True, mininterval=0.5)

    def _customers_create(self, total: int) -> None:
        rng = self.rng
        base = (Customer.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        with self._bar(total, "customers", "customer") as bar:
            for start in range(0, total, BATCH_SIZE):
                size = min(BATCH_SIZE, total - start)
                rows = [self._customer_plan(base + start + i) for i in range(size)]
                with transaction.atomic():
                    created = Customer.objects.bulk_create([row[0] for row in rows], batch_size=BATCH_SIZE)
                    identities, events = [], []
                    for customer, (_c, first, language, identity_rows) in zip(created, rows, strict=True):
                        index = len(self.customers)
                        kinds = tuple(kind for kind, _value, _display in identity_rows)
                        self.customers.append(
                            _CustomerPlan(customer.pk, first, language, customer.organization_id, customer.tier, kinds)
                        )
                        for kind, value, display in identity_rows:
                            self.by_kind[kind].append(index)
                            identities.append(
                                Identity(customer=customer, kind=kind, value=value, display=display,
                                         verified=kind == IdentityKind.EMAIL and rng.random() < 0.6,
                                         created_at=customer.created_at)
                            )
                        events.append(
                            Event(object_type="customer", object_id=customer.pk, verb="created",
                                  new_value={"name": customer.name}, data={}, actor_kind=ActorKind.SYSTEM,
                                  created_at=customer.created_at)
                        )
                    Identity.objects.bulk_create(identities, batch_size=BATCH_SIZE)
                    Event.objects.bulk_create(events, batch_size=BATCH_SIZE)
                bar.update(size)

    def _customer_plan(self, n: int) -> tuple[Customer, str, str, list[tuple[str, str, str]]]:
        rng = self.rng
        language = _weighted(rng, content.LANGUAGE_WEIGHTS)
        first, last = content.person_name(rng, language)
        organization = None
        if rng.random() < 0.35:
            organization = self.orgs[rng.choice(content.ORGANIZATIONS_BY_LANGUAGE[language])]
        kinds = [_weighted(rng, PRIMARY_KIND_WEIGHTS[language])]
        if organization is not None and kinds[0] != IdentityKind.EMAIL:
            kinds.insert(0, IdentityKind.EMAIL)
        if rng.random() < 0.35:
            extra = _weighted(rng, PRIMARY_KIND_WEIGHTS[language])
            if extra not in kinds:
                kinds.append(extra)
        if IdentityKind.WHATSAPP in kinds and IdentityKind.PHONE not in kinds and rng.random() < 0.4:
            kinds.append(IdentityKind.PHONE)  # the same number, also used for texts and calls
        slug = f"{content.ascii_slug(first)}.{content.ascii_slug(last)}"
        identities = []
        for kind in kinds:
            if kind == IdentityKind.EMAIL:
                if organization is not None:
                    domain = rng.choice([d.domain for d in organization.domains.all()])
                else:
                    domain = rng.choice(content.FREE_MAIL_DOMAINS[language])
                shown = f"{slug.title()}{n}@{domain}"
                identities.append((kind, normalize(kind, shown), shown))
            elif kind in (IdentityKind.PHONE, IdentityKind.WHATSAPP):
                shown, value = _phone(language, n)
                identities.append((kind, value, shown))
            else:
                value = {
                    IdentityKind.MESSENGER: str(7_100_000_000_000_000 + n),
                    IdentityKind.INSTAGRAM: str(17_841_400_000_000_000 + n),
                    IdentityKind.TELEGRAM: str(610_000_000 + n),
                    IdentityKind.CHAT: f"visitor-{n:07d}-{rng.getrandbits(24):06x}",
                }[kind]
                identities.append((kind, value, value))
        attributes: dict[str, Any] = {}
        if IdentityKind.TELEGRAM in kinds or IdentityKind.INSTAGRAM in kinds:
            attributes["handle"] = f"@{slug.replace('.', '_')}{n % 1000}"
        if rng.random() < 0.2:
            attributes["lifetime_orders"] = rng.randint(2, 40)
        tier = organization.tier if organization is not None else ("premium" if rng.random() < 0.12 else "standard")
        customer = Customer(
            name=f"{first} {last}",
            organization=organization,
            language=language,
            time_zone=rng.choice(content.TIME_ZONES[language]),
            preferred_channel=IDENTITY_CHANNEL[kinds[0]],
            tier=tier,
            consent_marketing=rng.random() < 0.3,
            attributes=attributes,
            created_at=self.now - timedelta(days=rng.uniform(92, 700)),
        )
        return customer, first, language, identities

    # --- Tickets -----------------------------------------------------------------------------

    def _created_times(self) -> list[datetime]:
        """Ticket creation times over the last ~90 days: more on weekdays and in office
        hours, slowly growing towards today."""
        rng = self.rng
        hour_cum = list(accumulate(HOUR_WEIGHTS))
        today = self.now.replace(hour=0, minute=0, second=0)
        times = []
        while len(times) < self.count:
            days_ago = int(rng.random() ** 1.15 * 90)
            day = today - timedelta(days=days_ago)
            if day.weekday() >= 5 and rng.random() < 0.55:
                continue
            hour = bisect(hour_cum, rng.random() * hour_cum[-1])
            moment = day + timedelta(hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))
            if moment >= self.now - timedelta(minutes=3):
                continue
            times.append(moment)
        times.sort()
        return times

    def _channels(self) -> list[str]:
        rng = self.rng
        channels = list(CHANNEL_WEIGHTS)[: self.count]  # every channel at least once
        rest = self.count - len(channels)
        channels += rng.choices(list(CHANNEL_WEIGHTS), weights=list(CHANNEL_WEIGHTS.values()), k=rest)
        rng.shuffle(channels)
        return channels

    def _tickets_create(self) -> None:
        times = self._created_times()
        channels = self._channels()
        through = Ticket.tags.through
        with self._bar(self.count, "tickets", "ticket") as bar:
            for start in range(0, self.count, BATCH_SIZE):
                stop = min(self.count, start + BATCH_SIZE)
                plans = [self._ticket_plan(times[i], channels[i]) for i in range(start, stop)]
                with transaction.atomic():
                    numbers = ticket_numbers_reserve(len(plans))
                    for plan, number in zip(plans, numbers, strict=True):
                        plan.ticket.number = number
                    Ticket.objects.bulk_create([p.ticket for p in plans], batch_size=BATCH_SIZE)
                    messages, events, tag_rows = [], [], []
                    for plan in plans:
                        messages.extend(plan.messages_for())
                        events.extend(plan.events_for())
                        tag_rows.extend(through(ticket_id=plan.ticket.pk, tag_id=t) for t in plan.tag_ids)
                    Message.objects.bulk_create(messages, batch_size=BATCH_SIZE)
                    Event.objects.bulk_create(events, batch_size=BATCH_SIZE)
                    through.objects.bulk_create(tag_rows, batch_size=BATCH_SIZE)
                bar.update(len(plans))

    def _requester(self, kind: str) -> _CustomerPlan:
        pool = self.by_kind[kind] or self.by_kind[IdentityKind.EMAIL] or range(len(self.customers))
        # A few customers write a lot, most write once or twice.
        return self.customers[pool[int(self.rng.random() ** 1.6 * len(pool))]]

    def _ticket_plan(self, created: datetime, channel: str) -> _TicketPlan:
        rng = self.rng
        requester = self._requester(CHANNEL_IDENTITY[channel])
        if (
            self.portal is not None
            and self.portal_budget > 0
            and channel in (Channel.EMAIL, Channel.WEB, Channel.CHAT)
            and rng.random() < max(0.02, 8 / max(self.count, 1))
        ):
            self.portal_budget -= 1
            requester = _CustomerPlan(self.portal.pk, self.portal.name.split()[0], self.portal.language, None,
                                      self.portal.tier, (IdentityKind.EMAIL, IdentityKind.CHAT))
        topic = rng.choice(content.TOPICS)
        language = requester.language
        subject, opening, first_answer = topic["text"][language]

        age_days = (self.now - created).total_seconds() / 86400
        weights = next(w for limit, w in STATUS_WEIGHTS_BY_AGE if age_days < limit)
        status = _weighted(rng, weights)
        public = rng.choice(PUBLIC_MESSAGES[status])
        with_note = status == TicketStatus.ON_HOLD or (status != TicketStatus.NEW and public < 6 and rng.random() < 0.2)

        team_name = topic["team"]
        team = self.teams.get(team_name)
        responders = [self.users[u] for u in TEAM_RESPONDERS[team_name] if u in self.users]
        assignee = None
        if responders and (status != TicketStatus.NEW or rng.random() < 0.3):
            assignee = rng.choice(responders)
        note_writers = [self.users[u] for u in TEAM_NOTE_WRITERS.get(team_name, ()) if u in self.users]
        note_author = rng.choice(note_writers) if note_writers and rng.random() < 0.6 else assignee
        if assignee is None:  # nobody has picked it up yet
            status, public, with_note = TicketStatus.NEW, 1, False
        if note_author is None:
            with_note = False
        if status == TicketStatus.ON_HOLD and not with_note:
            status = TicketStatus.OPEN

        # Time line: customer and agent alternate; gaps are long-tailed like real replies.
        gaps = []
        for k in range(1, public):
            if k % 2:  # agent answering the customer
                gaps.append(min(max(rng.lognormvariate(math.log(110), 1.0), 4), 36 * 60))
            else:
                gaps.append(min(max(rng.lognormvariate(math.log(300), 1.1), 6), 3 * 24 * 60))
        resolve_gap = rng.uniform(2, 45) if status in (TicketStatus.SOLVED, TicketStatus.CLOSED) else 0.0
        available = (self.now - created).total_seconds() / 60 - 2
        if status == TicketStatus.CLOSED:
            close_delay = AUTO_CLOSE_AFTER.total_seconds() / 60 + rng.uniform(0, 600)
            if sum(gaps) + resolve_gap + close_delay > available:
                status, close_delay = TicketStatus.SOLVED, 0.0
        else:
            close_delay = 0.0
        span = sum(gaps) + resolve_gap + close_delay
        if span > available:
            factor = max(available - close_delay, 0) / max(span - close_delay, 1e-9)
            gaps = [g * factor for g in gaps]
            resolve_gap *= factor
        times = [created]
        for gap in gaps:
            times.append(times[-1] + timedelta(minutes=gap))

        ticket = Ticket(
            subject="",
            status=status,
            priority=_priority(rng, requester.tier, topic["type"]),
            type=topic["type"],
            channel=channel,
            language=language,
            requester_id=requester.pk,
            organization_id=requester.organization_id,
            assignee=assignee,
            team=team if rng.random() < 0.93 else None,
            created_at=created,
        )
        if ticket.team is None:
            ticket.team = team if assignee is not None else None
        fill = topic.get("field")
        if fill:
            ticket.custom_fields = {fill: _custom_value(rng, fill)}

        plan = _TicketPlan(ticket=ticket, requester=requester, seeder=self)
        body = opening if channel != Channel.VOICE else content.VOICE_PREFIX[language] + opening
        ticket.subject = subject if channel not in CHAT_LIKE else _first_line_subject(opening)
        agent_reply_channel = Channel.SMS if channel == Channel.VOICE else channel
        # Different follow-ups within one conversation, never the same line twice.
        customer_lines = rng.sample(content.CUSTOMER_FOLLOW_UPS[language], 3)
        agent_lines = rng.sample(content.AGENT_FOLLOW_UPS[language], 3)
        for k, moment in enumerate(times):
            if k % 2 == 0:
                if k == 0:
                    text = body
                else:
                    text = customer_lines[k // 2 - 1]
                plan.add_customer_message(moment, text)
            else:
                if k == 1:
                    text = first_answer
                elif k == public - 1 and status == TicketStatus.PENDING:
                    text = rng.choice(content.AGENT_QUESTIONS[language])
                elif k == public - 1 and status in (TicketStatus.SOLVED, TicketStatus.CLOSED):
                    text = rng.choice(content.AGENT_RESOLUTIONS[language])
                else:
                    text = agent_lines[k // 2 - 1]
                if status == TicketStatus.PENDING and k == public - 1 and k == 1:
                    text = first_answer + "\n\n" + rng.choice(content.AGENT_QUESTIONS[language])
                plan.add_agent_message(moment, _agent_text(text, requester.first_name, assignee, language, channel),
                                       assignee, agent_reply_channel)
        if with_note:
            after = rng.randrange(len(times))
            window = (times[after + 1] - times[after]) if after + 1 < len(times) else timedelta(minutes=40)
            moment = times[after] + window * rng.uniform(0.1, 0.9)
            if moment >= self.now:
                moment = times[after] + (self.now - times[after]) / 2
            plan.add_note(moment, rng.choice(content.INTERNAL_NOTES), note_author)

        last_public = times[-1]
        if status in (TicketStatus.SOLVED, TicketStatus.CLOSED):
            ticket.solved_at = last_public + timedelta(minutes=resolve_gap)
        if status == TicketStatus.CLOSED:
            ticket.closed_at = ticket.solved_at + timedelta(minutes=close_delay)
        moments = [last_public, *(m.created_at for m in plan.messages), ticket.solved_at, ticket.closed_at]
        ticket.updated_at = max(t for t in moments if t is not None)

        tag_names = list(rng.sample(topic["tags"], rng.randint(1, len(topic["tags"]))))
        if requester.tier == "enterprise":
            tag_names.append("vip")
        if rng.random() < 0.05:
            tag_names.append("feedback")
        if rng.random() < 0.08:
            tag_names.append("returning-customer")
        plan.tag_ids = sorted({self.tags[name].pk for name in tag_names if name in self.tags})
        plan.events_plan()
        return plan


def _priority(rng: random.Random, tier: str, kind: str) -> str:
    weights = dict(PRIORITY_WEIGHTS)
    if tier == "enterprise":
        weights["high"] += 12
        weights["urgent"] += 5
    if kind == "incident":
        weights["high"] += 8
        weights["low"] -= 8
    return _weighted(rng, weights)


def _custom_value(rng: random.Random, key: str) -> Any:
    if key == "order_number":
        return f"A-{rng.randint(100000, 999999)}"
    if key == "refund_amount":
        return round(rng.uniform(9, 240), 2)
    choices = next(c for k, _l, _t, c, *_rest in content.CUSTOM_FIELDS if k == key)
    return rng.choice(choices)


def _first_line_subject(text: str) -> str:
    line = text.strip().splitlines()[0]
    return line[:80] + ("…" if len(line) > 80 else "")


def _agent_text(text: str, first_name: str, agent: Any, language: str, channel: str) -> str:
    greeting = content.GREETINGS[language].format(first=first_name)
    if channel in FORMAL:
        signature = content.SIGN_OFFS[language].format(agent=agent.get_full_name() or agent.get_username())
        return f"{greeting}\n\n{text}\n\n{signature}"
    return f"{greeting} {text}"


@dataclass
class _TicketPlan:
    ticket: Ticket
    requester: _CustomerPlan
    seeder: DemoSeeder
    messages: list[Message] = field(default_factory=list)
    tag_ids: list[int] = field(default_factory=list)
    event_rows: list[dict[str, Any]] = field(default_factory=list)
    _inbound: int = 0

    def add_customer_message(self, moment: datetime, text: str) -> None:
        ticket = self.ticket
        self._inbound += 1
        metadata = {"duration_seconds": self.seeder.rng.randint(20, 180)} if ticket.channel == Channel.VOICE else {}
        self.messages.append(
            Message(
                direction=MessageDirection.INBOUND, author_kind=AuthorKind.CUSTOMER,
                author_customer_id=self.requester.pk, channel=ticket.channel,
                subject=ticket.subject if ticket.channel in FORMAL else "", body_text=text,
                delivery_status=DeliveryStatus.RECEIVED, metadata=metadata, created_at=moment,
                external_id=str(self._inbound),  # made unique with the ticket number later
            )
        )
        ticket.last_customer_message_at = moment

    def add_agent_message(self, moment: datetime, text: str, agent: Any, channel: str) -> None:
        ticket = self.ticket
        rng = self.seeder.rng
        if channel in CHAT_LIKE:
            delivery = DeliveryStatus.READ if rng.random() < 0.7 else DeliveryStatus.DELIVERED
        else:
            delivery = DeliveryStatus.SENT if channel == Channel.API else DeliveryStatus.DELIVERED
        self.messages.append(
            Message(
                direction=MessageDirection.OUTBOUND, author_kind=AuthorKind.AGENT, author_user=agent,
                channel=channel, subject=f"Re: {ticket.subject}" if channel in FORMAL else "",
                body_text=text, delivery_status=delivery, created_at=moment,
                sent_at=moment + timedelta(seconds=rng.randint(1, 20)),
            )
        )
        ticket.last_agent_message_at = moment
        if ticket.first_responded_at is None:
            ticket.first_responded_at = moment

    def add_note(self, moment: datetime, text: str, agent: Any) -> None:
        self.messages.append(
            Message(
                direction=MessageDirection.OUTBOUND, author_kind=AuthorKind.AGENT, author_user=agent,
                channel=Channel.INTERNAL, body_text=text, is_internal=True,
                delivery_status=DeliveryStatus.NOT_SENT, created_at=moment,
            )
        )

    def events_plan(self) -> None:
        """What the services would have recorded: creation, assignment, status changes."""
        ticket = self.ticket
        rows = self.event_rows
        if ticket.channel == Channel.API:
            creator = {"actor_kind": ActorKind.API, "actor_user": self.seeder.users.get("admin")}
        else:
            creator = {"actor_kind": ActorKind.CUSTOMER, "actor_customer_id": self.requester.pk}
        rows.append({"verb": "created", "new_value": TicketStatus.NEW, "created_at": ticket.created_at,
                     "data": {"subject": ticket.subject, "channel": ticket.channel}, **creator})
        agent = ticket.assignee
        if agent is None:
            return
        first_reply = ticket.first_responded_at
        assigned_at = ticket.created_at + (
            min((first_reply - ticket.created_at) / 2, timedelta(minutes=15)) if first_reply else timedelta(minutes=5)
        )
        rows.append({"verb": "assigned", "field": "assignee", "old_value": None,
                     "new_value": {"id": agent.pk, "label": agent.get_username()},
                     "actor_kind": ActorKind.SYSTEM, "created_at": assigned_at, "data": {"by": "routing"}})
        if ticket.status == TicketStatus.NEW:
            return
        as_agent = {"actor_kind": ActorKind.AGENT, "actor_user": agent}
        opened_at = first_reply or assigned_at + timedelta(minutes=1)
        rows.append({"verb": "changed", "field": "status", "old_value": "new", "new_value": "open",
                     "created_at": opened_at, **as_agent})
        last_agent = ticket.last_agent_message_at or opened_at
        if ticket.status in (TicketStatus.PENDING, TicketStatus.ON_HOLD):
            rows.append({"verb": "changed", "field": "status", "old_value": "open", "new_value": ticket.status,
                         "created_at": max(last_agent, opened_at), **as_agent})
        if ticket.solved_at:
            rows.append({"verb": "changed", "field": "status", "old_value": "open", "new_value": "solved",
                         "created_at": ticket.solved_at, **as_agent})
        if ticket.closed_at:
            rows.append({"verb": "changed", "field": "status", "old_value": "solved", "new_value": "closed",
                         "created_at": ticket.closed_at, "actor_kind": ActorKind.SYSTEM,
                         "data": {"reason": "solved without reply for 4 days"}})

    def messages_for(self) -> list[Message]:
        ticket = self.ticket
        for message in self.messages:
            message.ticket = ticket
            if message.external_id is not None:
                message.external_id = f"demo-{ticket.number}-{message.external_id}"
                if ticket.channel == Channel.EMAIL:
                    message.external_id = f"<{message.external_id}@mail.helpdesk.example>"
        return self.messages

    def events_for(self) -> list[Event]:
        ticket = self.ticket
        events = []
        for row in self.event_rows:
            row = dict(row)
            if row["verb"] == "created":
                row["data"] = {"number": ticket.number, **row["data"]}
            row["created_at"] = min(row["created_at"], self.seeder.now)
            events.append(Event(ticket=ticket, object_type="ticket", object_id=ticket.pk, **row))
        return events


def _analyze() -> None:
    """Fresh planner statistics after a bulk load, so list pages get good plans at once."""
    if connection.vendor != "postgresql":
        return
    tables = [m._meta.db_table for m in (Customer, Identity, Ticket, Ticket.tags.through, Message, Event)]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))


def row_counts() -> dict[str, int]:
    User = get_user_model()
    models: Sequence[Any] = (
        Organization, OrganizationDomain, Team, AgentProfile, Customer, Identity, Tag, Ticket,
        Message, Event, Macro, CustomField,
    )
    counts = {str(model._meta.verbose_name_plural).capitalize(): model.objects.count() for model in models}
    counts["Ticket tag links"] = Ticket.tags.through.objects.count()
    counts["Users"] = User.objects.count()
    return counts


def demo_seed(*, tickets: int, seed: int | None = None, progress: bool = True) -> SeedReport:
    """Create `tickets` demo tickets (and the customers writing them)."""
    from kb.demo import kb_demo_seed  # help-centre articles in three languages (idempotent)

    kb_demo_seed()
    return DemoSeeder(tickets=tickets, seed=seed, progress=progress).run()
