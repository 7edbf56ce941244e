"""Writes of routing: apply routing rules to a new ticket (once), assign tickets of a team to
an agent by the team's strategy, offer chats and handle the agent's answer, and the minute
sweep that retries what could not be assigned and moves expired chat offers on.

Every ticket change goes through the ticket services with `Actor.system()` (or the agent who
accepted a chat), so the audit log, webhooks and SLA re-application happen as for any change.

Locks, always taken in this order: a team's `TeamAssignment` row (serialises the team's
assignments, holds the round-robin pointer), then ticket rows. Routing a ticket commits its
rule changes before assignment starts, so it never holds a ticket while waiting for a team.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.models import UNSOLVED_STATUSES, AgentRole, Channel, Ticket
from tickets.services.events import Actor, event_record, event_record_changes
from tickets.services.tickets import ticket_assign, ticket_tags_add, ticket_update
from tickets.sla.selectors import ticket_effective_tier

from .models import (
    AgentSchedule,
    AssignmentStrategy,
    ChatOffer,
    OfferState,
    RoutingRule,
    TagMatch,
    TeamAssignment,
    TicketRoute,
)
from .selectors import (
    Candidate,
    assignment_candidates,
    routing_rules_active,
    skill_names,
    ticket_first_message_text,
    ticket_offer_history,
)

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 100
# Tickets of an auto-assign team that routing has not seen yet are left to the routing task
# for this long before the sweep assigns them anyway (a lost task must not strand a ticket).
ROUTING_GRACE = dt.timedelta(minutes=2)


def can_manage_routing(user: Any) -> bool:
    """Managers and admins edit rules, team assignment and skills; agents only read them."""
    if getattr(user, "is_superuser", False):
        return True
    profile = getattr(user, "agent_profile", None)
    return profile is not None and profile.role in (AgentRole.MANAGER, AgentRole.ADMIN)


# --- Routing rules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketFacts:
    """What rule conditions look at, read once per ticket."""

    channel: str
    language: str
    tier: str
    organization_id: int | None
    text: str  # subject and first message


def routing_rule_matches(rule: RoutingRule, *, facts: TicketFacts, tags: set[str]) -> bool:
    if rule.channels and facts.channel not in rule.channels:
        return False
    if rule.languages and facts.language not in rule.languages:
        return False
    if rule.tiers and facts.tier not in rule.tiers:
        return False
    organization_ids = {o.pk for o in rule.organizations.all()}
    if organization_ids and facts.organization_id not in organization_ids:
        return False
    if rule.tags:
        wanted = set(rule.tags)
        if rule.tags_match == TagMatch.ALL and not wanted <= tags:
            return False
        if rule.tags_match == TagMatch.ANY and not wanted & tags:
            return False
    pattern = rule.keyword_pattern()
    return not (pattern is not None and not pattern.search(facts.text))


@dataclass
class RouteOutcome:
    routed: bool  # False: routing had already run for this ticket (or it is gone)
    rules: list[dict[str, Any]] = field(default_factory=list)
    assignment: str = ""


def ticket_route(*, ticket_id: int, now: dt.datetime | None = None) -> RouteOutcome:
    """Apply the routing rules to a new ticket, once whatever the number of calls, then try to
    assign it within its team. Safe to call twice or concurrently."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("requester", "organization", "team")
            .filter(pk=ticket_id)
            .first()
        )
        if ticket is None:
            return RouteOutcome(routed=False)
        route, created = TicketRoute.objects.get_or_create(ticket=ticket, defaults={"routed_at": now})
        if not created:
            return RouteOutcome(routed=False)
        matched = _apply_rules(ticket, route)
    return RouteOutcome(routed=True, rules=matched, assignment=ticket_auto_assign(ticket_id=ticket_id, now=now))


def _apply_rules(ticket: Ticket, route: TicketRoute) -> list[dict[str, Any]]:
    rules = routing_rules_active()
    if not rules:
        return []
    facts = TicketFacts(
        channel=ticket.channel,
        language=ticket.language,
        tier=ticket_effective_tier(ticket),
        organization_id=ticket.organization_id,
        text=f"{ticket.subject}\n{ticket_first_message_text(ticket_id=ticket.pk)}",
    )
    tags = set(ticket.tags.values_list("name", flat=True))
    team_given = ticket.team_id is not None
    team_kept = False
    matched: list[dict[str, Any]] = []
    changes: dict[str, Any] = {}
    add_tags: set[str] = set()
    skills: set[str] = set()
    for rule in rules:
        if not routing_rule_matches(rule, facts=facts, tags=tags | add_tags):
            continue
        matched.append({"id": rule.pk, "name": rule.name})
        # A team chosen by whoever created the ticket (an agent, an API client) is kept.
        if rule.set_team_id and not team_given:
            changes["team"] = rule.set_team
        team_kept = team_kept or (team_given and rule.set_team_id is not None)
        if rule.set_priority:
            changes["priority"] = rule.set_priority
        add_tags |= set(rule.add_tags)
        skills |= set(rule.require_skills)
        if rule.stop_processing:
            break
    if not matched:
        return []
    actor = Actor.system()
    if changes:
        ticket_update(ticket=ticket, changes=changes, actor=actor)
    if add_tags - tags:
        ticket_tags_add(ticket=ticket, names=add_tags, actor=actor)
    route.rules = matched
    route.required_skills = sorted(skills)
    route.save(update_fields=["rules", "required_skills"])
    event_record(
        obj=ticket,
        verb="routed",
        data={
            "rules": matched,
            "team": changes.get("team"),
            "team_kept": team_kept,
            "priority": changes.get("priority"),
            "tags_added": sorted(add_tags - tags),
            "required_skills": sorted(skills),
        },
        actor=actor,
    )
    return matched


# --- Choosing an agent ----------------------------------------------------------------------


def _required_skills(ticket: Ticket, known_skills: frozenset[str]) -> set[str]:
    try:
        from_rules = set(ticket.route.required_skills)
    except TicketRoute.DoesNotExist:
        from_rules = set()
    from_tags = {t.name for t in ticket.tags.all()} & known_skills
    return from_rules | from_tags


def _waited_key(c: Candidate) -> tuple[int, float]:
    # Never assigned waits longest; otherwise the earlier the last assignment, the sooner.
    if c.last_assigned_at is None:
        return (0, 0.0)
    return (1, c.last_assigned_at.timestamp())


def choose_agent(
    *,
    strategy: str,
    candidates: list[Candidate],
    config: TeamAssignment,
    required_skills: Iterable[str] = (),
    exclude: Iterable[int] = (),
) -> Candidate | None:
    """The agent the strategy picks among candidates with room (None: nobody eligible).
    Round-robin moves `config.round_robin_last_id` on (the caller saves it)."""
    excluded = set(exclude)
    pool = [c for c in candidates if c.has_room and c.user_id not in excluded]
    if strategy == AssignmentStrategy.ROUND_ROBIN:
        if not pool:
            return None
        pool.sort(key=lambda c: c.user_id)
        last = config.round_robin_last_id or 0
        chosen = next((c for c in pool if c.user_id > last), pool[0])
        config.round_robin_last_id = chosen.user_id
        return chosen
    if strategy == AssignmentStrategy.SKILLS:
        needed = set(required_skills)
        pool = [c for c in pool if needed <= set(c.skills)]
        if not pool:
            return None
        return min(pool, key=lambda c: (c.load, -sum(c.skills[s] for s in needed), _waited_key(c), c.user_id))
    if strategy == AssignmentStrategy.LEAST_LOADED:
        if not pool:
            return None
        return min(pool, key=lambda c: (c.load, _waited_key(c), c.user_id))
    return None


# --- Assigning --------------------------------------------------------------------------------


# Checks that name agents who may not be offered another chat (e.g. the live-chat app's
# per-agent chat limit). Each takes candidate user ids and returns those that are full.
_CHAT_FULL_CHECKS: list[Callable[[list[int]], set[int]]] = []


def chat_full_check_register(check: Callable[[list[int]], set[int]]) -> None:
    if check not in _CHAT_FULL_CHECKS:
        _CHAT_FULL_CHECKS.append(check)


def _offer_exclusions(ticket: Ticket, candidates: list[Candidate]) -> set[int]:
    """Agents not to offer this chat to: whoever is at their chat limit, whoever declined it,
    and whoever let it expire unless nobody else is left (they may only have stepped away)."""
    full: set[int] = set()
    for check in _CHAT_FULL_CHECKS:
        full |= check([c.user_id for c in candidates if c.has_room])
    declined, expired = ticket_offer_history(ticket_id=ticket.pk)
    others = [c for c in candidates if c.has_room and c.user_id not in declined | expired | full]
    return full | declined | expired if others else full | declined


def _assign_one(
    ticket: Ticket,
    *,
    config: TeamAssignment,
    candidates: list[Candidate],
    known_skills: frozenset[str],
    now: dt.datetime,
) -> str:
    """Assign (or, for a chat, offer) one locked, unassigned ticket; the caller holds the
    team's lock. Returns what happened: assigned, offered or nobody."""
    is_chat = ticket.channel == Channel.CHAT
    required = _required_skills(ticket, known_skills) if config.strategy == AssignmentStrategy.SKILLS else set()
    exclude = _offer_exclusions(ticket, candidates) if is_chat else set()
    chosen = choose_agent(
        strategy=config.strategy, candidates=candidates, config=config, required_skills=required, exclude=exclude
    )
    if chosen is None:
        return "nobody"
    actor = Actor.system()
    details = {"strategy": config.strategy, "agent": chosen.user, "load": chosen.load}
    if required:
        details["skills"] = sorted(required)
    if is_chat:
        offer = ChatOffer.objects.create(
            ticket=ticket,
            agent=chosen.user,
            offered_at=now,
            expires_at=now + dt.timedelta(minutes=config.chat_offer_minutes),
        )
        event_record(
            obj=offer, ticket=ticket, verb="chat_offered", data={**details, "expires_at": offer.expires_at}, actor=actor
        )
    else:
        ticket_assign(ticket=ticket, assignee=chosen.user, actor=actor)
        event_record(obj=ticket, verb="auto_assigned", data=details, actor=actor)
    chosen.load += 1
    chosen.last_assigned_at = now
    _note_assigned(chosen.profile_id, now)
    return "offered" if is_chat else "assigned"


def _note_assigned(profile_id: int, now: dt.datetime) -> None:
    if not AgentSchedule.objects.filter(agent_id=profile_id).update(last_assigned_at=now):
        AgentSchedule.objects.get_or_create(agent_id=profile_id, defaults={"last_assigned_at": now})


def _has_open_offer(ticket_id: int) -> bool:
    return ChatOffer.objects.filter(ticket_id=ticket_id, state=OfferState.OFFERED).exists()


def ticket_auto_assign(*, ticket_id: int, now: dt.datetime | None = None) -> str:
    """Give an unassigned ticket of an auto-assigning team to an agent by the team's strategy
    (for a chat: offer it). Returns assigned, offered, nobody or skipped (not applicable)."""
    now = now or timezone.now()
    team_id = Ticket.objects.filter(pk=ticket_id).values_list("team_id", flat=True).first()
    if team_id is None:
        return "skipped"
    with transaction.atomic():
        config = TeamAssignment.objects.select_for_update().filter(team_id=team_id).first()
        if config is None or not config.assigns:
            return "skipped"
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("route")
            .prefetch_related("tags")
            .filter(pk=ticket_id, team_id=team_id, assignee__isnull=True, status__in=UNSOLVED_STATUSES)
            .first()
        )
        if ticket is None or (ticket.channel == Channel.CHAT and _has_open_offer(ticket_id)):
            return "skipped"
        candidates = assignment_candidates(team_id=team_id, now=now)
        known = skill_names() if config.strategy == AssignmentStrategy.SKILLS else frozenset()
        pointer = config.round_robin_last_id
        outcome = _assign_one(ticket, config=config, candidates=candidates, known_skills=known, now=now)
        if config.round_robin_last_id != pointer:
            TeamAssignment.objects.filter(pk=config.pk).update(round_robin_last_id=config.round_robin_last_id)
    return outcome


# --- The sweep ----------------------------------------------------------------------------------


@dataclass
class SweepResult:
    assigned: int = 0
    offered: int = 0
    unassignable: int = 0
    offers_expired: int = 0
    offers_withdrawn: int = 0
    teams: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def routing_sweep(*, now: dt.datetime | None = None, batch_size: int = DEFAULT_BATCH_SIZE) -> SweepResult:
    """Move expired chat offers on to the next agent, then assign the waiting unassigned
    tickets of every auto-assigning team. Idempotent; two sweeps at once skip each other's
    tickets."""
    now = now or timezone.now()
    result = SweepResult()
    chat_offers_expire(now=now, batch_size=batch_size, result=result)
    team_ids = list(
        TeamAssignment.objects.filter(is_active=True)
        .exclude(strategy=AssignmentStrategy.NONE)
        .order_by("team_id")
        .values_list("team_id", flat=True)
    )
    for team_id in team_ids:
        result.teams += 1
        while _sweep_team_batch(team_id, now, batch_size, result):
            pass
    return result


def _waiting_tickets(team_id: int, now: dt.datetime):
    return (
        Ticket.objects.filter(team_id=team_id, status__in=UNSOLVED_STATUSES, assignee__isnull=True)
        .filter(Q(route__isnull=False) | Q(created_at__lt=now - ROUTING_GRACE))
        .exclude(chat_offers__state=OfferState.OFFERED)
    )


def _sweep_team_batch(team_id: int, now: dt.datetime, batch_size: int, result: SweepResult) -> bool:
    """One batch of one team in one transaction; True when another batch may find more."""
    with transaction.atomic():
        config = TeamAssignment.objects.select_for_update(skip_locked=True).filter(team_id=team_id).first()
        if config is None or not config.assigns:
            return False  # another sweep works on this team right now, or it was switched off
        candidates = assignment_candidates(team_id=team_id, now=now)
        if not any(c.has_room for c in candidates):
            return False  # nobody can take a ticket: leave the whole queue for the next run
        tickets = list(
            _waiting_tickets(team_id, now)
            .select_for_update(of=("self",), skip_locked=True)
            .select_related("route")
            .prefetch_related("tags")
            .order_by("created_at", "id")[:batch_size]
        )
        if not tickets:
            return False
        known = skill_names() if config.strategy == AssignmentStrategy.SKILLS else frozenset()
        pointer = config.round_robin_last_id
        progressed = False
        for ticket in tickets:
            outcome = _assign_one(ticket, config=config, candidates=candidates, known_skills=known, now=now)
            if outcome == "assigned":
                result.assigned += 1
                progressed = True
            elif outcome == "offered":
                result.offered += 1
                progressed = True
            else:
                result.unassignable += 1
        if config.round_robin_last_id != pointer:
            TeamAssignment.objects.filter(pk=config.pk).update(round_robin_last_id=config.round_robin_last_id)
    # Only go on when this batch was full and gave something away (else the rest would fail too).
    return progressed and len(tickets) == batch_size


# --- Chat offers ----------------------------------------------------------------------------------


def chat_offers_expire(
    *, now: dt.datetime | None = None, batch_size: int = DEFAULT_BATCH_SIZE, result: SweepResult | None = None
) -> SweepResult:
    """Expire the offers not accepted in time and offer each chat to the next agent; withdraw
    offers of chats that were assigned or solved meanwhile."""
    now = now or timezone.now()
    result = result or SweepResult()
    actor = Actor.system()
    with transaction.atomic():
        stale = list(
            ChatOffer.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(state=OfferState.OFFERED)
            .filter(Q(ticket__assignee__isnull=False) | ~Q(ticket__status__in=UNSOLVED_STATUSES))
            .select_related("ticket")[:batch_size]
        )
        for offer in stale:
            _offer_close(offer, OfferState.WITHDRAWN, now, actor, verb="chat_offer_withdrawn")
        result.offers_withdrawn += len(stale)
    while True:
        with transaction.atomic():
            expired = list(
                ChatOffer.objects.select_for_update(of=("self",), skip_locked=True)
                .filter(state=OfferState.OFFERED, expires_at__lte=now)
                .select_related("ticket")
                .order_by("expires_at", "id")[:batch_size]
            )
            for offer in expired:
                _offer_close(offer, OfferState.EXPIRED, now, actor, verb="chat_offer_expired")
        result.offers_expired += len(expired)
        for offer in expired:
            outcome = ticket_auto_assign(ticket_id=offer.ticket_id, now=now)
            if outcome == "offered":
                result.offered += 1
        if len(expired) < batch_size:
            return result


def _offer_close(offer: ChatOffer, state: str, now: dt.datetime, actor: Actor, *, verb: str) -> None:
    offer.state = state
    offer.answered_at = now if state in (OfferState.ACCEPTED, OfferState.DECLINED) else None
    offer.save(update_fields=["state", "answered_at"])
    event_record(
        obj=offer,
        ticket=offer.ticket,
        verb=verb,
        data={"agent": offer.agent_id, "offered_at": offer.offered_at, "expires_at": offer.expires_at},
        actor=actor,
    )


class OfferClosed(ValidationError):
    """The offer can no longer be accepted (expired, withdrawn, already answered)."""


def _locked_offer_of(offer_id: int, user: AbstractBaseUser) -> ChatOffer:
    offer = ChatOffer.objects.select_for_update(of=("self",)).select_related("ticket").filter(pk=offer_id).first()
    if offer is None or offer.agent_id != user.pk:
        raise PermissionDenied(_("This chat was not offered to you."))
    return offer


def chat_offer_accept(*, offer_id: int, user: AbstractBaseUser, now: dt.datetime | None = None) -> Ticket:
    """The agent takes the chat: it is assigned to them. Refused with a clear reason when the
    offer is no longer open; an offer found past its time is expired and moved on."""
    now = now or timezone.now()
    problem: str | None = None
    move_on = False
    with transaction.atomic():
        offer = _locked_offer_of(offer_id, user)
        ticket = offer.ticket
        if offer.state != OfferState.OFFERED:
            problem = _("This chat offer is no longer open (%(state)s).") % {"state": offer.get_state_display()}
        elif offer.expires_at <= now:
            _offer_close(offer, OfferState.EXPIRED, now, Actor.system(), verb="chat_offer_expired")
            move_on = True
            problem = _("This chat offer expired at %(time)s and went to the next agent.") % {
                "time": timezone.localtime(offer.expires_at).strftime("%H:%M:%S")
            }
        else:
            locked = Ticket.objects.select_for_update(of=("self",)).select_related("assignee").get(pk=ticket.pk)
            if locked.assignee_id is not None or locked.status not in UNSOLVED_STATUSES:
                _offer_close(offer, OfferState.WITHDRAWN, now, Actor.system(), verb="chat_offer_withdrawn")
                problem = _("Ticket #%(number)s is already taken care of.") % {"number": locked.number}
            else:
                _offer_close(offer, OfferState.ACCEPTED, now, Actor.agent(user), verb="chat_offer_accepted")
                ticket_assign(ticket=locked, assignee=user, actor=Actor.agent(user))
                _note_assigned(user.agent_profile.pk, now)
                ticket = locked
    if problem is not None:
        if move_on:
            ticket_auto_assign(ticket_id=offer.ticket_id, now=now)
        raise OfferClosed(problem)
    return ticket


def chat_offer_decline(*, offer_id: int, user: AbstractBaseUser, now: dt.datetime | None = None) -> Ticket:
    """The agent passes: the chat is offered to the next eligible agent at once."""
    now = now or timezone.now()
    with transaction.atomic():
        offer = _locked_offer_of(offer_id, user)
        if offer.state != OfferState.OFFERED:
            raise OfferClosed(
                _("This chat offer is no longer open (%(state)s).") % {"state": offer.get_state_display()}
            )
        _offer_close(offer, OfferState.DECLINED, now, Actor.agent(user), verb="chat_offer_declined")
    ticket_auto_assign(ticket_id=offer.ticket_id, now=now)
    return offer.ticket


# --- Settings (used by the API; the admin writes through its audited forms) ---------------------

RULE_FIELDS = (
    "name",
    "position",
    "is_active",
    "stop_processing",
    "channels",
    "keywords",
    "languages",
    "tiers",
    "tags",
    "tags_match",
    "set_team",
    "set_priority",
    "add_tags",
    "require_skills",
)


def _check_manager(actor: Actor) -> None:
    if actor.user is not None and not can_manage_routing(actor.user):
        raise PermissionDenied(_("Only managers and admins change routing."))


def routing_rule_save(*, rule: RoutingRule | None, data: Mapping[str, Any], actor: Actor) -> RoutingRule:
    """Create a rule (rule None) or change the fields given; validated, audited."""
    _check_manager(actor)
    creating = rule is None
    rule = rule or RoutingRule()
    organizations = data.get("organizations")
    with transaction.atomic():
        before = {name: getattr(rule, name) for name in RULE_FIELDS} if not creating else {}
        old_orgs = list(rule.organizations.all()) if not creating else []
        for name in RULE_FIELDS:
            if name in data:
                setattr(rule, name, data[name])
        rule.updated_at = timezone.now()
        rule.full_clean()
        try:
            rule.save()
        except IntegrityError as exc:  # a concurrent create with the same name
            raise ValidationError({"name": _("A routing rule with this name exists.")}) from exc
        if organizations is not None:
            rule.organizations.set(organizations)
        if creating:
            event_record(obj=rule, verb="created", new={n: getattr(rule, n) for n in RULE_FIELDS}, actor=actor)
        else:
            changes = [(n, before[n], getattr(rule, n)) for n in RULE_FIELDS if n in data]
            if organizations is not None:
                changes.append(("organizations", old_orgs, list(organizations)))
            event_record_changes(obj=rule, changes=changes, actor=actor)
    return rule


def routing_rule_delete(*, rule: RoutingRule, actor: Actor) -> None:
    _check_manager(actor)
    with transaction.atomic():
        event_record(obj=rule, verb="deleted", old={"name": rule.name}, actor=actor)
        rule.delete()


ASSIGNMENT_FIELDS = ("team", "strategy", "is_active", "chat_offer_minutes")


def team_assignment_save(*, config: TeamAssignment | None, data: Mapping[str, Any], actor: Actor) -> TeamAssignment:
    _check_manager(actor)
    creating = config is None
    config = config or TeamAssignment()
    with transaction.atomic():
        before = {name: getattr(config, name) for name in ASSIGNMENT_FIELDS} if not creating else {}
        for name in ASSIGNMENT_FIELDS:
            if name in data and not (name == "team" and not creating):
                setattr(config, name, data[name])
        config.updated_at = timezone.now()
        config.full_clean()
        try:
            with transaction.atomic():
                config.save()
        except IntegrityError as exc:
            raise ValidationError({"team": _("This team already has assignment settings.")}) from exc
        if creating:
            event_record(
                obj=config, verb="created", new={n: getattr(config, n) for n in ASSIGNMENT_FIELDS}, actor=actor
            )
        else:
            event_record_changes(
                obj=config,
                changes=[(n, before[n], getattr(config, n)) for n in ASSIGNMENT_FIELDS if n in data],
                actor=actor,
            )
    return config
