"""Reads for the staff pages: search analytics, suggestion deflection, and KB health (stale,
unhelpful and "followed by a ticket" articles; content gaps)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from tickets.models import Ticket

from .models import (
    Article,
    ArticleStatus,
    ArticleView,
    SearchClick,
    SearchLog,
    SuggestionOutcome,
    SuggestionOutcomeKind,
    SuggestionShown,
)
from .selectors import article_suggest
from .text import keywords

HELPED = {SuggestionOutcomeKind.OPENED, SuggestionOutcomeKind.RESOLVED}
CONTACTED = {SuggestionOutcomeKind.SUBMITTED, SuggestionOutcomeKind.ESCALATED}
REPORT_ROWS = 20


def _window() -> timedelta:
    return timedelta(minutes=settings.KB_DEFLECTION_WINDOW_MINUTES)


# --- Search analytics -------------------------------------------------------------------------


def search_analytics(*, since: datetime, limit: int = REPORT_ROWS) -> dict:
    """Searches since a time: totals, top queries, queries that found nothing, click-through
    (searches with results whose reader opened one). Five queries."""
    searches = SearchLog.objects.filter(created_at__gte=since)
    totals = searches.aggregate(
        searches=Count("id"),
        no_result=Count("id", filter=Q(results=0)),
        with_results=Count("id", filter=Q(results__gt=0)),
    )
    clicked = SearchClick.objects.filter(search__created_at__gte=since).values("search_id").distinct().count()
    totals["clicked"] = clicked
    totals["click_through"] = round(100 * clicked / totals["with_results"]) if totals["with_results"] else None
    top = list(
        searches.values("query")
        .annotate(
            n=Count("id", distinct=True),
            results=Max("results"),
            click_count=Count("clicks"),
            clicked_searches=Count("id", distinct=True, filter=Q(clicks__isnull=False)),
        )
        .order_by("-n", "query")[:limit]
    )
    for row in top:
        row["click_through"] = round(100 * row["clicked_searches"] / row["n"]) if row["results"] else None
    no_result = list(
        searches.filter(results=0)
        .values("query")
        .annotate(n=Count("id"), last=Max("created_at"))
        .order_by("-n", "-last")[:limit]
    )
    return {"totals": totals, "top": top, "no_result": no_result}


# --- Deflection -------------------------------------------------------------------------------


@dataclass
class DeflectionStats:
    visitors_shown: int = 0
    visitors_helped: int = 0  # opened a suggested article or said it solved the problem
    contacted_after: int = 0  # ...and still submitted / escalated within the window
    deflected: int = 0
    undecided: int = 0  # helped less than a window ago: not counted yet
    by_source: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> int | None:
        decided = self.visitors_helped - self.undecided
        return round(100 * self.deflected / decided) if decided > 0 else None


def deflection_stats(*, since: datetime, until: datetime | None = None, now: datetime | None = None) -> DeflectionStats:
    """Visitors shown suggestions in [since, until]: a visitor is DEFLECTED when, after seeing
    suggestions, they opened one (or said it helped) and did not submit a request or ask for a
    person within KB_DEFLECTION_WINDOW_MINUTES of that. Counted at read time, two queries."""
    now = now or timezone.now()
    until = until or now
    window = _window()
    first_shown: dict[str, tuple[datetime, str]] = {}
    for key, at, source in (
        SuggestionShown.objects.filter(created_at__gte=since, created_at__lte=until)
        .order_by("created_at")
        .values_list("visitor_key", "created_at", "source")
    ):
        first_shown.setdefault(key, (at, source))
    stats = DeflectionStats(visitors_shown=len(first_shown))
    if not first_shown:
        return stats
    outcomes: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for key, at, outcome in (
        SuggestionOutcome.objects.filter(visitor_key__in=list(first_shown), created_at__gte=since)
        .order_by("created_at")
        .values_list("visitor_key", "created_at", "outcome")
    ):
        outcomes[key].append((at, outcome))
    for key, (shown_at, source) in first_shown.items():
        helped_at = next((at for at, kind in outcomes[key] if kind in HELPED and at >= shown_at), None)
        if helped_at is None:
            continue
        stats.visitors_helped += 1
        deadline = helped_at + window
        if any(kind in CONTACTED and shown_at <= at <= deadline for at, kind in outcomes[key]):
            stats.contacted_after += 1
        elif now < deadline:
            stats.undecided += 1
        else:
            stats.deflected += 1
            stats.by_source[source] = stats.by_source.get(source, 0) + 1
    return stats


# --- Health -----------------------------------------------------------------------------------


@dataclass
class Flag:
    article: Article
    reason: str
    detail: dict = field(default_factory=dict)


def _published() -> object:
    return Article.objects.filter(status=ArticleStatus.PUBLISHED)


def stale_articles(*, now: datetime | None = None) -> list[Article]:
    """Published articles not reviewed (or edited) for KB_STALE_DAYS days, oldest first."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.KB_STALE_DAYS)
    return list(
        _published()
        .annotate(last_review=Coalesce("reviewed_at", "published_at", "created_at"))
        .filter(last_review__lt=cutoff)
        .prefetch_related("translations")
        .order_by("last_review")[:100]
    )


def unhelpful_articles() -> list[tuple[Article, int, int]]:
    """(article, votes, "no" votes) with at least KB_UNHELPFUL_MIN_VOTES votes and a share of
    "no" of at least KB_UNHELPFUL_RATIO, worst first."""
    rows = (
        _published()
        .annotate(votes=Count("feedback"), no=Count("feedback", filter=Q(feedback__helpful=False)))
        .filter(votes__gte=settings.KB_UNHELPFUL_MIN_VOTES)
        .prefetch_related("translations")
    )
    found = [(a, a.votes, a.no) for a in rows if a.no / a.votes >= settings.KB_UNHELPFUL_RATIO]
    return sorted(found, key=lambda item: (-item[2] / item[1], -item[1]))


def followed_by_ticket_articles(*, since: datetime, min_count: int | None = None) -> list[tuple[Article, int, int]]:
    """(article, readers, readers who then submitted a request within the deflection window):
    articles that often do not answer the question. Needs at least KB_GAP_MIN_COUNT such readers."""
    min_count = settings.KB_GAP_MIN_COUNT if min_count is None else min_count
    window = _window()
    submissions: dict[str, list[datetime]] = defaultdict(list)
    for key, at in SuggestionOutcome.objects.filter(
        created_at__gte=since, outcome=SuggestionOutcomeKind.SUBMITTED
    ).values_list("visitor_key", "created_at"):
        submissions[key].append(at)
    readers: dict[int, set[str]] = defaultdict(set)
    followed: dict[int, set[str]] = defaultdict(set)
    for article_id, key, at in ArticleView.objects.filter(created_at__gte=since).values_list(
        "article_id", "visitor_key", "created_at"
    ):
        readers[article_id].add(key)
        if any(at <= sent <= at + window for sent in submissions.get(key, ())):
            followed[article_id].add(key)
    ids = [pk for pk, keys in followed.items() if len(keys) >= min_count]
    articles = Article.objects.filter(pk__in=ids).prefetch_related("translations").in_bulk()
    found = [(articles[pk], len(readers[pk]), len(followed[pk])) for pk in ids if pk in articles]
    return sorted(found, key=lambda item: (-item[2], item[0].slug))


@dataclass
class TicketGap:
    keyword: str
    tickets: int
    examples: list[str]


def gaps_from_tickets(
    *, since: datetime, min_count: int | None = None, max_clusters: int = 10, samples: int = 3
) -> list[TicketGap]:
    """Groups of recent tickets sharing a subject keyword (at least KB_GAP_MIN_COUNT tickets)
    for which no public article is a strong match for any of their latest subjects."""
    min_count = settings.KB_GAP_MIN_COUNT if min_count is None else min_count
    rows = list(
        Ticket.objects.filter(created_at__gte=since, merged_into__isnull=True)
        .order_by("-created_at")
        .values_list("subject", "language")[:2000]
    )
    by_keyword: dict[str, list[tuple[str, str]]] = defaultdict(list)
    words: dict[str, Counter] = defaultdict(Counter)
    for subject, language in rows:
        for word in set(keywords(subject)):
            by_keyword[word].append((subject, language))
        for full in subject.lower().split():
            full = full.strip(".,!?:;()[]\"'")
            if len(full) >= 4:
                words[full[:6]][full] += 1
    clusters = sorted(
        ((k, v) for k, v in by_keyword.items() if len(v) >= min_count), key=lambda item: (-len(item[1]), item[0])
    )
    gaps = []
    for keyword, tickets in clusters[:max_clusters]:
        examples = list(dict.fromkeys(subject for subject, _lang in tickets))[:samples]
        answered = any(article_suggest(subject, language, limit=1) for subject, language in tickets[:samples])
        if not answered:
            label = words[keyword].most_common(1)[0][0] if words[keyword] else keyword
            gaps.append(TicketGap(keyword=label, tickets=len(tickets), examples=examples))
    return gaps


def gaps_from_searches(*, since: datetime, min_count: int | None = None) -> list[dict]:
    """Searches that found nothing, asked at least KB_GAP_MIN_COUNT times."""
    min_count = settings.KB_GAP_MIN_COUNT if min_count is None else min_count
    return list(
        SearchLog.objects.filter(created_at__gte=since, results=0)
        .values("query")
        .annotate(n=Count("id"), last=Max("created_at"))
        .filter(n__gte=min_count)
        .order_by("-n", "query")[:REPORT_ROWS]
    )


def kb_health(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    since = now - timedelta(days=settings.KB_GAP_DAYS)
    return {
        "stale": stale_articles(now=now),
        "unhelpful": unhelpful_articles(),
        "followed": followed_by_ticket_articles(since=since),
        "search_gaps": gaps_from_searches(since=since),
        "ticket_gaps": gaps_from_tickets(since=since),
        "since": since,
    }
