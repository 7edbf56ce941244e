"""Reads: which tickets a person may see, and lists that stay fast at scale."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, Q, QuerySet
from django.http import Http404

from .models import UNSOLVED_STATUSES, Event, Message, Ticket, TicketStatus


def ticket_visibility_q(user: AbstractBaseUser | AnonymousUser) -> Q:
    """What `user` may see: everything with the view-all permission; an agent their teams'
    tickets, tickets with no team and tickets assigned to them; a customer their own."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.is_superuser or user.has_perm("tickets.view_all_tickets"):
        return Q()
    profile = getattr(user, "agent_profile", None)
    if profile is not None and user.has_perm("tickets.view_ticket"):
        return Q(team__isnull=True) | Q(team__in=profile.teams.all()) | Q(assignee=user)
    customer = getattr(user, "customer", None)
    if customer is not None:
        return Q(requester=customer)
    return Q(pk__in=[])


def ticket_list(
    *, user: AbstractBaseUser | AnonymousUser, filters: Mapping[str, Any] | None = None
) -> QuerySet[Ticket]:
    filters = dict(filters or {})
    team = filters.get("team")
    if team not in (None, ""):
        qs = Ticket.objects.filter(ticket_team_visibility_q(user, team=team))
    else:
        qs = Ticket.objects.filter(ticket_visibility_q(user))
    status = filters.get("status")
    if status == "unsolved":
        qs = qs.filter(status__in=UNSOLVED_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    for key in ("assignee", "team", "channel", "priority", "requester", "organization"):
        if filters.get(key) not in (None, ""):
            qs = qs.filter(**{key: filters[key]})
    if filters.get("unassigned"):
        qs = qs.filter(assignee__isnull=True)
    return (
        qs.select_related("requester", "assignee", "team", "organization")
        .prefetch_related("tags")
        .order_by("-updated_at", "-id")
    )


def ticket_team_visibility_q(user: AbstractBaseUser | AnonymousUser, *, team: Any) -> Q:
    """ticket_visibility_q for the tickets of one team (the caller filters on that team too):
    every one of them for a member of the team (or whoever sees all), only those assigned to
    the agent otherwise. The same rows, but a condition the planner can serve: "team X and
    (no team, or team in mine, or assigned to me)" for a team the agent is not in walked the
    whole list index looking for the few assigned ones (2 s at a million tickets)."""
    general = ticket_visibility_q(user)
    if not user.is_authenticated or not user.is_active:
        return general
    if user.is_superuser or user.has_perm("tickets.view_all_tickets"):
        return general
    profile = getattr(user, "agent_profile", None)
    if profile is None or not user.has_perm("tickets.view_ticket") or not str(team).isdigit():
        return general
    if profile.teams.filter(pk=int(team)).exists():
        return Q()
    return Q(assignee=user)


def ticket_get(*, user: AbstractBaseUser | AnonymousUser, number: int) -> Ticket:
    """One ticket by number; 404 whether it does not exist or is not the user's to see, so
    that guessing numbers tells nothing."""
    ticket = (
        Ticket.objects.filter(ticket_visibility_q(user), number=number)
        .select_related("requester", "assignee", "team", "organization", "merged_into")
        .first()
    )
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


def ticket_timeline(*, ticket: Ticket, user: AbstractBaseUser | AnonymousUser) -> list[Message | Event]:
    """Messages and events of a ticket in time order; customers see no notes or events."""
    is_agent = hasattr(user, "agent_profile") or user.is_superuser
    messages = ticket.messages.select_related("author_user", "author_customer").prefetch_related("attachments")
    if not is_agent:
        if getattr(user, "customer", None) is None or ticket.requester_id != user.customer.pk:
            raise PermissionDenied
        messages = messages.filter(is_internal=False)
        return list(messages)
    events = ticket.events.exclude(verb__in=["message_received", "reply_queued", "note_added"]).select_related(
        "actor_user", "actor_customer"
    )
    items: list[Message | Event] = [*messages, *events]
    items.sort(key=lambda item: (item.created_at, 0 if isinstance(item, Message) else 1, item.pk))
    return items


def ticket_queue_counts(*, user: AbstractBaseUser) -> dict[str, int]:
    """Counts for an agent's home: one query."""
    visible = Ticket.objects.filter(ticket_visibility_q(user))
    return visible.aggregate(
        mine=Count("pk", filter=Q(assignee=user, status__in=UNSOLVED_STATUSES)),
        unassigned=Count("pk", filter=Q(assignee__isnull=True, status__in=UNSOLVED_STATUSES)),
        unsolved=Count("pk", filter=Q(status__in=UNSOLVED_STATUSES)),
        pending=Count("pk", filter=Q(status=TicketStatus.PENDING)),
        on_hold=Count("pk", filter=Q(status=TicketStatus.ON_HOLD)),
    )


# --- Agent workspace (issue 3) ------------------------------------------------------------------

# Text search configuration: the one the stored search documents are built with (tickets
# migration 0010); Portuguese and Russian words still match as whole words (not stemmed).
TICKET_SEARCH_CONFIG = "english"


# Up to this many matching tickets the search fetches their ids from the GIN index first; with
# more, it walks the list in its order testing each ticket's stored document until the page is
# full (the more tickets match, the sooner). The planner's estimate (from the statistics kept on
# the stored documents) decides for words; phrases, which it estimates poorly, are counted by
# fetching up to this many ids. See ticket_search.
TICKET_SEARCH_IDS_MAX = 8_000
# Ids fetched first when the list's own team or assignee conditions narrow the documents to at
# most this many (estimated, then counted); a frequent word among them is walked for instead.
TICKET_SEARCH_NARROWED_IDS_MAX = 2_000
# work_mem for fetching those ids (see _work_mem).
TICKET_SEARCH_WORK_MEM = "32MB"


class _ExistsPerRow(Exists):
    """EXISTS evaluated row by row as the list is walked. PostgreSQL would otherwise cost a
    "hashed SubPlan" for all rows of the table (it ignores the LIMIT there) and build the whole
    set of matching messages first; an OFFSET in the subquery rules that rewrite out."""

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        sql, params = super().as_sql(compiler, connection, **extra)
        if sql.endswith(")"):
            sql = f"{sql[:-1]} OFFSET 0)"
        return sql, params


def _estimated_rows(queryset: QuerySet) -> int:
    """The planner's row estimate for a query (EXPLAIN without running it: about 1 ms)."""
    import json

    from django.db import connections

    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def ticket_search(
    *, queryset: QuerySet[Ticket], query: str, user: AbstractBaseUser | AnonymousUser | None = None
) -> QuerySet[Ticket]:
    """Narrow `queryset` to tickets whose subject or any message text (internal notes too)
    matches `query` (web-search syntax on PostgreSQL: words, "a phrase", -excluded, or). "#123"
    or "123" also finds ticket number 123. Other databases fall back to a case-insensitive
    substring. `user`, when `queryset` holds only what that user may see, lets the search
    look among those tickets' documents only (faster for an agent of one team)."""
    from django.db import connection

    # NUL cannot reach PostgreSQL in a string literal; treat it as a word break.
    query = " ".join((query or "").replace("\x00", " ").split())
    if not query:
        return queryset
    by_number = Q()
    if query.lstrip("#").isdigit():
        by_number = Q(number=int(query.lstrip("#")))
    if connection.vendor == "postgresql":
        return _ticket_search_documents(queryset=queryset, query=query, by_number=by_number, user=user)
    in_messages = Message.objects.filter(body_text__icontains=query).values("ticket_id")
    return queryset.filter(Q(subject__icontains=query) | Q(pk__in=in_messages) | by_number)


def _ticket_search_documents(
    *, queryset: QuerySet[Ticket], query: str, by_number: Q, user: AbstractBaseUser | AnonymousUser | None
) -> QuerySet[Ticket]:
    """PostgreSQL: match the stored document of each ticket (TicketSearchDocument, kept by
    triggers), either through its GIN index (few matches) or ticket by ticket along the list."""
    from django.contrib.postgres.search import SearchQuery
    from django.db.models import OuterRef

    from .models import TicketSearchDocument

    search = SearchQuery(query, search_type="websearch", config=TICKET_SEARCH_CONFIG)
    every_document = documents = TicketSearchDocument.objects.filter(document=search)
    visible = _visible_documents_q(user)
    if visible is not None:
        # The documents carry the ticket's team and assignee, so an agent's visibility applies
        # here too (an index on each, ANDed with the GIN index): a common phrase of another
        # team's topics is then known to be rare for this agent.
        documents = documents.filter(visible)
    tsquery = _tsquery_text(documents.db, query)
    if not tsquery:
        # Only stop words or punctuation: no text can match.
        return queryset.filter(by_number) if by_number else queryset.none()
    # The list's own conditions on the copied team and assignee ("mine", a team filter) narrow
    # the documents further: a word common overall but rare among the agent's own tickets or one
    # team's is then fetched by id, where the walk would read the whole list to find it.
    copied = _copied_list_q(queryset)
    if copied is not None:
        narrowed = documents.filter(copied)
        if "<" in tsquery:
            documents = narrowed  # counted below, among fewer candidates
        elif _estimated_rows(narrowed) <= TICKET_SEARCH_NARROWED_IDS_MAX:
            with _work_mem(documents.db, TICKET_SEARCH_WORK_MEM):
                ids = list(narrowed.values_list("ticket_id", flat=True)[: TICKET_SEARCH_NARROWED_IDS_MAX + 1])
            if len(ids) <= TICKET_SEARCH_NARROWED_IDS_MAX:
                return queryset.filter(Q(pk__in=ids) | by_number)
    # A phrase ('a <-> b') is estimated as if its words were independent, often far below what
    # it matches (and the walk for a phrase that is in fact rare would read every ticket): count
    # it instead, up to the limit. Its cost is bounded by the tickets having all its words.
    if "<" in tsquery or _estimated_rows(documents) <= TICKET_SEARCH_IDS_MAX:
        with _work_mem(documents.db, TICKET_SEARCH_WORK_MEM):
            ids = list(documents.values_list("ticket_id", flat=True)[: TICKET_SEARCH_IDS_MAX + 1])
        if len(ids) <= TICKET_SEARCH_IDS_MAX:
            return queryset.filter(Q(pk__in=ids) | by_number)
    # Many matches (a fifth of all tickets say "refund"): collecting them all costs more than
    # walking the list in its own order and testing each ticket's document until the page is full.
    return queryset.filter(_ExistsPerRow(every_document.filter(ticket_id=OuterRef("pk"))) | by_number)


# Columns of the ticket that TicketSearchDocument copies (kept by the triggers of migration 0010).
_DOCUMENT_COPIED_COLUMNS = {"team_id": "team_id", "assignee_id": "assignee_id"}


def _copied_list_q(queryset: QuerySet[Ticket]) -> Q | None:
    """The list's top-level conditions (ANDed) that are an equality, IN or IS NULL on a column the
    search documents copy, as a condition on TicketSearchDocument; None when there is none. It
    only narrows the documents to a superset of the list's matches (the list keeps its own
    conditions)."""
    from django.db.models.expressions import Col
    from django.db.models.lookups import Exact, In, IsNull
    from django.db.models.sql.where import AND, WhereNode

    base = queryset.query.get_initial_alias() if queryset.query.alias_map else None
    found = Q()
    any_found = False

    def visit(node: Any) -> None:
        nonlocal found, any_found
        if isinstance(node, WhereNode):
            if node.connector != AND or node.negated:
                return
            for child in node.children:
                visit(child)
            return
        if not isinstance(node, Exact | In | IsNull) or not isinstance(node.lhs, Col):
            return
        column = node.lhs.target.column
        if node.lhs.alias != base or node.lhs.target.model is not Ticket or column not in _DOCUMENT_COPIED_COLUMNS:
            return
        rhs = node.rhs
        if isinstance(node, In) and isinstance(rhs, list | tuple | set | frozenset):
            rhs = [getattr(value, "pk", value) for value in rhs]
        rhs = getattr(rhs, "pk", rhs)
        if isinstance(node, In):
            if not isinstance(rhs, list | tuple | set | frozenset):
                return
            found &= Q(**{f"{_DOCUMENT_COPIED_COLUMNS[column]}__in": list(rhs)})
        elif isinstance(node, IsNull):
            found &= Q(**{f"{_DOCUMENT_COPIED_COLUMNS[column]}__isnull": bool(rhs)})
        else:
            if not isinstance(rhs, int | str) or isinstance(rhs, bool):
                return
            found &= Q(**{_DOCUMENT_COPIED_COLUMNS[column]: rhs})
        any_found = True

    visit(queryset.query.where)
    return found if any_found else None


def _visible_documents_q(user: AbstractBaseUser | AnonymousUser | None) -> Q | None:
    """A condition on TicketSearchDocument true for every ticket an agent may see (as in
    ticket_visibility_q, with the teams as a list so that the team index serves it); None when
    there is nothing to narrow (whoever sees all, customers: `queryset` does it)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser or user.has_perm("tickets.view_all_tickets"):
        return None
    profile = getattr(user, "agent_profile", None)
    if profile is None or not user.has_perm("tickets.view_ticket"):
        return None
    teams = list(profile.teams.values_list("pk", flat=True))
    return Q(team__isnull=True) | Q(team__in=teams) | Q(assignee=user)


@contextmanager
def _work_mem(alias: str, value: str) -> Iterator[None]:
    """PostgreSQL's work_mem raised for one query. An agent's visibility (a third of all
    tickets) as a bitmap of the search documents needs more than the default 4 MB to stay exact;
    a lossy one makes the phrase or word check re-read tens of thousands of documents."""
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT current_setting('work_mem'), set_config('work_mem', %s, false)", [value])
        before = cursor.fetchone()[0]
    try:
        yield
    finally:
        from django.db import DatabaseError

        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT set_config('work_mem', %s, false)", [before])
        except DatabaseError:
            pass  # an aborted transaction: its rollback undoes the setting anyway


def _tsquery_text(alias: str, query: str) -> str:
    """The text search query PostgreSQL makes of the agent's words ('' when none is left)."""
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT websearch_to_tsquery(%s::regconfig, %s)::text", [TICKET_SEARCH_CONFIG, query])
        return cursor.fetchone()[0] or ""


# How long a solved ticket stays in "Recently solved".
RECENTLY_SOLVED_DAYS = 7

TICKET_QUEUES = ("mine", "unassigned", "unsolved", "pending", "on_hold", "breaching", "recently_solved", "all")

# The SLA deadline columns "Breaching soon" looks at (each has a partial index).
SLA_DUE_COLUMNS = ("first_response_due_at", "next_response_due_at", "resolution_due_at")
# Stands in for "no deadline" when sorting by the soonest one.
NO_DEADLINE = datetime.datetime(9999, 12, 31, tzinfo=datetime.UTC)


def breaching_soon_hours() -> int:
    return int(getattr(settings, "HELPDESK_BREACHING_SOON_HOURS", 4))


def ticket_due_at() -> Any:
    """The ticket's soonest SLA deadline (NO_DEADLINE when it has none), as an expression."""
    from django.db.models import Value
    from django.db.models.functions import Coalesce, Least

    return Least(*[Coalesce(column, Value(NO_DEADLINE)) for column in SLA_DUE_COLUMNS])


def ticket_due_value(ticket: Ticket) -> datetime.datetime:
    """ticket_due_at() computed in Python for a loaded ticket."""
    dues = [getattr(ticket, column) for column in SLA_DUE_COLUMNS if getattr(ticket, column) is not None]
    return min(dues) if dues else NO_DEADLINE


def ticket_queue_q(*, user: AbstractBaseUser, queue: str) -> Q:
    """The condition behind one of the agent's views (queues)."""
    from datetime import timedelta

    from django.utils import timezone

    unsolved = Q(status__in=UNSOLVED_STATUSES)
    if queue == "mine":
        return unsolved & Q(assignee=user)
    if queue == "unassigned":
        return unsolved & Q(assignee__isnull=True)
    if queue == "unsolved":
        return unsolved
    if queue == "pending":
        return Q(status=TicketStatus.PENDING)
    if queue == "on_hold":
        return Q(status=TicketStatus.ON_HOLD)
    if queue == "breaching":
        # Any SLA deadline (met or paused clocks have theirs cleared) within the next hours,
        # overdue ones included: an OR of three conditions each served by its partial index.
        limit = timezone.now() + timedelta(hours=breaching_soon_hours())
        due = Q()
        for column in SLA_DUE_COLUMNS:
            due |= Q(**{f"{column}__lte": limit})
        return unsolved & due
    if queue == "recently_solved":
        since = timezone.now() - timedelta(days=RECENTLY_SOLVED_DAYS)
        return Q(status__in=[TicketStatus.SOLVED, TicketStatus.CLOSED], solved_at__gte=since)
    if queue == "all":
        return Q()
    raise ValueError(f"Unknown queue {queue!r}")


def ticket_queue(*, user: AbstractBaseUser, queue: str, filters: Mapping[str, Any] | None = None) -> QuerySet[Ticket]:
    """The tickets of one view that `user` may see (sorted newest change first), narrowed by
    ticket_list's `filters`."""
    return ticket_list(user=user, filters=filters).filter(ticket_queue_q(user=user, queue=queue))


# A saved view can be any filter over every ticket ever ("closed, email, last year"): its count
# stops at this many and shows as "10,000+", so that counting it costs a bounded walk.
SAVED_VIEW_COUNT_LIMIT = 10_000


class CountAtLeast(int):
    """A count that stopped at its limit: there are at least this many ("10,000+")."""

    at_least = True


def ticket_workspace_counts(*, user: AbstractBaseUser, views: Any = ()) -> dict[str, int]:
    """The number of tickets in each view but "all", and in each saved view (keyed
    "view:<id>", a CountAtLeast above SAVED_VIEW_COUNT_LIMIT). Every built-in view holds
    unsolved or recently solved tickets only: one aggregate over the unsolved ones and one
    count of the recently solved, both index-only scans of the covering indexes of tickets
    migration 0011 (so they count the status, never null, not the id, which those indexes do
    not hold), then one query of a capped count per saved view."""
    from django.db import connections

    visible = Ticket.objects.filter(ticket_visibility_q(user)).order_by()
    unsolved_views = ("mine", "unassigned", "pending", "on_hold", "breaching")
    counts: dict[str, int] = visible.filter(status__in=UNSOLVED_STATUSES).aggregate(
        unsolved=Count("status"),
        **{queue: Count("status", filter=ticket_queue_q(user=user, queue=queue)) for queue in unsolved_views},
    )
    counts["recently_solved"] = visible.filter(ticket_queue_q(user=user, queue="recently_solved")).count()
    if not views:
        return counts
    # SELECT (SELECT COUNT(*) FROM (<view 1's first 10,001 ids>)), (...): one query for them all.
    parts, params = [], []
    for view in views:
        tickets = ticket_view_queryset(user=user, params=saved_view_params(view), plan_tags=False)[0]
        sql, view_params = tickets.order_by().values("pk")[: SAVED_VIEW_COUNT_LIMIT + 1].query.sql_with_params()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) capped)")  # noqa: S608 (Django-compiled SQL)
        params.extend(view_params)
    with connections[visible.db].cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)
        found = cursor.fetchone()
    for view, number in zip(views, found, strict=True):
        counts[f"view:{view.pk}"] = CountAtLeast(SAVED_VIEW_COUNT_LIMIT) if number > SAVED_VIEW_COUNT_LIMIT else number
    return counts


def ticket_view_queryset(
    *, user: AbstractBaseUser, params: Mapping[str, Any], plan_tags: bool = True
) -> tuple[QuerySet[Ticket], Any]:
    """The tickets a list with these parameters shows (queue, FilterSet filters, search words),
    unsorted, and the FilterSet (for its errors). Used by the list and by saved views' counts."""
    from .api.filters import TicketFilterSet

    queue = params.get("queue") or "unsolved"
    if queue not in TICKET_QUEUES:
        queue = "unsolved"
    # A team filter also narrows the visibility condition to that team (ticket_list).
    team = params.get("team") or ""
    narrowed = {"team": int(team)} if team.isdigit() else None
    filterset = TicketFilterSet(data=params, queryset=ticket_queue(user=user, queue=queue, filters=narrowed))
    # Counting (not listing a page) has no use for the tag filter's plan and its extra query.
    filterset.plan_tag_filter = plan_tags
    tickets = filterset.qs.all()
    # The multiple-choice filters ask for DISTINCT by default. Every filter here is on a column
    # of the ticket or its one tag of a name, so no ticket comes twice, and a DISTINCT over all
    # columns keeps PostgreSQL from walking an index in list order: it would sort every match
    # (a second at a million tickets for one channel).
    tickets.query.distinct = False
    return ticket_search(queryset=tickets, query=params.get("q") or "", user=user), filterset


def ticket_list_rows(*, tickets: list[Ticket]) -> list[Ticket]:
    """The list page's tickets with what each row shows computed once per page: the labels of
    channel, status and priority (get_FOO_display() rebuilds the choices' dict, translating
    every label, on each call: 150 times a page), the assignee's name, the tag names and the
    soonest SLA deadline. One query, for the tag names of the whole page (pass a list loaded
    without prefetch_related("tags"): a prefetched queryset points back at its ticket, and
    those cycles, 2,000 objects a page, left the garbage collector pausing requests for
    150-200 ms now and then)."""
    from django.utils import timezone

    from .models import Channel, TicketPriority

    labels = {
        "channel": {value: str(label) for value, label in Channel.choices},
        "status": {value: str(label) for value, label in TicketStatus.choices},
        "priority": {value: str(label) for value, label in TicketPriority.choices},
    }
    now = timezone.now()
    names: dict[int, str] = {}
    tags: dict[int, list[str]] = {}
    tagged = Ticket.tags.through.objects.filter(ticket_id__in=[ticket.pk for ticket in tickets])
    for ticket_id, name in tagged.order_by("tag__name").values_list("ticket_id", "tag__name"):
        tags.setdefault(ticket_id, []).append(name)
    for ticket in tickets:
        ticket.channel_label = labels["channel"].get(ticket.channel, ticket.channel)
        ticket.status_label = labels["status"].get(ticket.status, ticket.status)
        ticket.priority_label = labels["priority"].get(ticket.priority, ticket.priority)
        assignee = ticket.assignee
        if assignee is None:
            ticket.assignee_name = ""
        elif assignee.pk in names:
            ticket.assignee_name = names[assignee.pk]
        else:
            ticket.assignee_name = names[assignee.pk] = assignee.get_full_name() or assignee.get_username()
        ticket.tag_names = tags.get(ticket.pk, [])
        due = ticket_due_value(ticket)
        ticket.due = None if due == NO_DEADLINE else {"at": due, "overdue": due <= now}
    return tickets


def saved_view_params(view: Any) -> Any:
    from django.http import QueryDict

    return QueryDict(view.query)


def saved_view_list_for(*, user: AbstractBaseUser) -> list[Any]:
    """The user's own saved views, then those shared with a team they are in (one query)."""
    from .models import SavedView, Team

    shared = Q(team__in=Team.objects.filter(agents__user=user))
    return list(
        SavedView.objects.filter(Q(owner=user, team__isnull=True) | shared)
        .select_related("team", "owner")
        .order_by("team__name", "name", "id")
    )


def saved_view_get(*, user: AbstractBaseUser, pk: int) -> Any:
    """A saved view the user may open; 404 otherwise."""
    for view in saved_view_list_for(user=user):
        if view.pk == pk:
            return view
    raise Http404("No such view.")


# --- Cached counts ---------------------------------------------------------------------------------
# The sidebar's counts are an aggregate over every visible ticket: cheap on an index, but not
# something to run on every page load at a million tickets. They are cached per user for a short
# time, under a key that includes a "generation" number for each live-update audience the user
# belongs to (all tickets, a team, unteamed, their own); a ticket change bumps the generations of
# the audiences that can see the ticket, so the next load counts again, and only for those agents.


def workspace_audience(user: AbstractBaseUser) -> list[str]:
    """The live-update groups whose tickets `user` may see (as ticket_visibility_q)."""
    from .tasks import ALL_TICKETS_GROUP, UNTEAMED_GROUP, agent_group, team_group

    if user.is_superuser or user.has_perm("tickets.view_all_tickets"):
        return [ALL_TICKETS_GROUP]
    profile = getattr(user, "agent_profile", None)
    teams = [team_group(pk) for pk in profile.teams.values_list("pk", flat=True)] if profile is not None else []
    return [UNTEAMED_GROUP, agent_group(user.pk), *teams]


def counts_generation_key(group: str) -> str:
    return f"workspace:counts-gen:{group}"


def queue_counts_ttl() -> int:
    return int(getattr(settings, "HELPDESK_QUEUE_COUNTS_TTL", 60))


def ticket_workspace_counts_cached(*, user: AbstractBaseUser, views: Any = ()) -> dict[str, int]:
    """ticket_workspace_counts from the cache while nothing the user can see has changed (and
    for at most HELPDESK_QUEUE_COUNTS_TTL seconds, since "breaching soon" and "recently solved"
    move with the clock)."""
    from django.core.cache import cache

    groups = workspace_audience(user)
    generation_keys = [counts_generation_key(group) for group in groups]
    generations = cache.get_many(generation_keys)
    signature = ";".join(f"{key}={generations.get(key, 0)}" for key in generation_keys)
    signature += ";" + ",".join(f"{v.pk}@{v.updated_at.timestamp()}" for v in views)
    key = f"workspace:counts:{user.pk}:{hashlib.sha1(signature.encode()).hexdigest()}"  # noqa: S324
    counts = cache.get(key)
    if counts is None:
        counts = ticket_workspace_counts(user=user, views=views)
        cache.set(key, counts, queue_counts_ttl())
    return counts


def ticket_priority_rank() -> Any:
    """An expression ordering priorities low < normal < high < urgent (the stored values sort
    alphabetically otherwise)."""
    from django.db.models import Case, IntegerField, Value, When

    from .models import TicketPriority

    return Case(
        *[When(priority=value, then=Value(rank)) for rank, value in enumerate(TicketPriority.values)],
        default=Value(0),
        output_field=IntegerField(),
    )


def agent_assignable_list() -> QuerySet:
    """Active agents whose role lets them work tickets, for assignee pickers."""
    from django.contrib.auth import get_user_model

    from .models import AgentRole

    return (
        get_user_model()
        .objects.filter(is_active=True, agent_profile__role__in=[AgentRole.ADMIN, AgentRole.MANAGER, AgentRole.AGENT])
        .order_by("first_name", "last_name", "username")
    )


def ticket_reply_channels(*, ticket: Ticket) -> list[str]:
    """Channels an agent can answer this ticket on: the default (reply_channel_for) first, then
    every channel one of the customer's identities can be reached on where a sender is set up."""
    from .outbound import sender_for
    from .services.tickets import IDENTITY_CHANNEL, reply_channel_for

    channels = [reply_channel_for(ticket)]
    kinds = set(ticket.requester.identities.values_list("kind", flat=True))
    for kind, channel in IDENTITY_CHANNEL.items():
        if kind in kinds and channel not in channels and sender_for(channel) is not None:
            channels.append(channel)
    return channels


def customer_recent_tickets(
    *, user: AbstractBaseUser, customer_id: int, exclude_id: int | None = None, limit: int = 5
) -> list[Ticket]:
    """The customer's other most recently changed tickets that `user` may see."""
    qs = Ticket.objects.filter(ticket_visibility_q(user), requester_id=customer_id)
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return list(qs.order_by("-updated_at", "-id")[:limit])


def macro_list_for(*, user: AbstractBaseUser) -> QuerySet:
    """Active macros available to `user`: everyone's and their teams'."""
    from .models import Macro

    qs = Macro.objects.filter(is_active=True)
    profile = getattr(user, "agent_profile", None)
    if user.is_superuser or user.has_perm("tickets.view_all_tickets"):
        return qs.order_by("name")
    if profile is None:
        return qs.none()
    return qs.filter(Q(team__isnull=True) | Q(team__in=profile.teams.all())).order_by("name")


# --- Linked tickets ------------------------------------------------------------------------------

_LINK_INVERSE = {"related": "related", "duplicate_of": "has_duplicate", "caused_by": "causes"}


def ticket_link_list(*, ticket: Ticket, user: AbstractBaseUser) -> list[dict[str, Any]]:
    """The ticket's links in both directions, each read from this ticket's side ("duplicate of
    #12", "has duplicate #15"), to tickets `user` may see: one query, and a second one only
    when there are links (which of the linked tickets the user may see). A "linked ticket in
    the visible tickets" subquery in the first one made PostgreSQL cost a scan of every ticket
    and compile the query (JIT) on every ticket page: up to 50 ms at a million tickets."""
    from .models import TicketLink

    links = list(
        TicketLink.objects.filter(Q(source=ticket) | Q(target=ticket))
        .select_related("source", "target")
        .order_by("created_at", "id")
    )
    others = {link.target_id if link.source_id == ticket.pk else link.source_id for link in links}
    visible = set(Ticket.objects.filter(ticket_visibility_q(user), pk__in=others).values_list("pk", flat=True))
    found = []
    for link in links:
        outgoing = link.source_id == ticket.pk
        if (link.target_id if outgoing else link.source_id) not in visible:
            continue
        found.append(
            {
                "link": link,
                "other": link.target if outgoing else link.source,
                "relation": link.kind if outgoing else _LINK_INVERSE[link.kind],
            }
        )
    return found


# --- Customers and organizations directory ------------------------------------------------------


def customer_directory_list(*, query: str = "") -> QuerySet:
    """Customers by name or identity (an address, a number, a handle), with their
    organization and ticket count; sorted by name."""
    from .models import Customer, Identity

    qs = Customer.objects.select_related("organization")
    query = " ".join((query or "").split())
    if query:
        by_identity = Identity.objects.filter(value__icontains=query.lower()).values("customer_id")
        qs = qs.filter(Q(name__icontains=query) | Q(pk__in=by_identity) | Q(organization__name__icontains=query))
    return qs.order_by("name", "id")


def customer_history(*, customer_id: int, user: AbstractBaseUser, limit: int = 100) -> list[Message]:
    """The customer's messages on every channel, newest first, on tickets `user` may see
    (internal notes left out: this is what the customer said and was told)."""
    return list(
        Message.objects.filter(
            ticket__in=Ticket.objects.filter(ticket_visibility_q(user), requester_id=customer_id).values("pk"),
            is_internal=False,
        )
        .select_related("ticket", "author_user")
        .order_by("-created_at", "-id")[:limit]
    )


def customer_ticket_list(*, customer_id: int, user: AbstractBaseUser, limit: int = 100) -> list[Ticket]:
    return list(
        Ticket.objects.filter(ticket_visibility_q(user), requester_id=customer_id)
        .select_related("assignee")
        .order_by("-updated_at", "-id")[:limit]
    )


def organization_directory_list(*, query: str = "") -> QuerySet:
    from .models import Organization

    qs = Organization.objects.annotate(customer_count=Count("customers", distinct=True))
    query = " ".join((query or "").split())
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(domains__domain__icontains=query.lower())).distinct()
    return qs.order_by("name", "id")


def organization_ticket_list(*, organization_id: int, user: AbstractBaseUser, limit: int = 100) -> list[Ticket]:
    return list(
        Ticket.objects.filter(ticket_visibility_q(user), organization_id=organization_id)
        .select_related("requester", "assignee")
        .order_by("-updated_at", "-id")[:limit]
    )
