"""Reads from the knowledge base: what a reader may see, in which language, and search."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .models import (
    DEFAULT_LANGUAGE,
    LANGUAGE_CHOICES,
    SEARCH_CONFIGS,
    Article,
    ArticleStatus,
    ArticleTranslation,
    ArticleVersion,
    ArticleVisibility,
    Category,
)

LANGUAGE_CODES = [code for code, _name in LANGUAGE_CHOICES]
HOME_ARTICLES_PER_CATEGORY = 5


def user_is_agent(user) -> bool:
    """Agents (users with an agent profile) and superusers see drafts and internal articles."""
    if user is None or not user.is_authenticated:
        return False
    return bool(user.is_superuser or hasattr(user, "agent_profile"))


def reader_language(*, requested: str | None, browser: str | None) -> str:
    """?lang= wins when it names a help-centre language, then the browser's language, then English."""
    for candidate in (requested, browser):
        code = (candidate or "").strip().lower()
        if code in LANGUAGE_CODES:
            return code
        base = code.split("-")[0]
        for known in LANGUAGE_CODES:
            if base and known.split("-")[0] == base:
                return known
    return DEFAULT_LANGUAGE


@dataclass
class Entry:
    """An article with the text a reader of one language gets (their own, else English)."""

    article: Article
    translation: ArticleTranslation
    snippet: SafeString | str = ""
    languages: list[str] = field(default_factory=list)
    score: float = 0.0

    @property
    def title(self) -> str:
        return self.translation.title


def article_visible_qs(*, user) -> QuerySet[Article]:
    qs = Article.objects.all()
    if not user_is_agent(user):
        qs = qs.filter(status=ArticleStatus.PUBLISHED, visibility=ArticleVisibility.PUBLIC)
    return qs


def translation_pick(*, article: Article, language: str) -> ArticleTranslation | None:
    """The article's text in `language`, else in English, else in any language it has
    (uses prefetched translations when there are)."""
    by_language = {t.language: t for t in article.translations.all()}
    for code in (language, DEFAULT_LANGUAGE):
        if code in by_language:
            return by_language[code]
    return next(iter(by_language.values()), None)


def _entries(articles, language: str) -> list[Entry]:
    entries = []
    for article in articles:
        translation = translation_pick(article=article, language=language)
        if translation is not None:
            entries.append(Entry(article=article, translation=translation))
    return entries


def category_list(*, user, language: str) -> list[tuple[Category, int, list[Entry]]]:
    """Categories with how many articles the user may read, and the first few of them.
    Three queries, whatever the number of categories."""
    visible = article_visible_qs(user=user)
    counts = dict(visible.values_list("category_id").annotate(n=Count("id")).values_list("category_id", "n"))
    top = (
        visible.annotate(
            row=Window(RowNumber(), partition_by=[F("category_id")], order_by=[F("position").asc(), F("slug").asc()])
        )
        .filter(row__lte=HOME_ARTICLES_PER_CATEGORY)
        .prefetch_related("translations")
    )
    by_category: dict[int, list[Article]] = {}
    for article in top:
        by_category.setdefault(article.category_id, []).append(article)
    result = []
    for category in Category.objects.filter(pk__in=counts.keys()):
        result.append((category, counts[category.pk], _entries(by_category.get(category.pk, []), language)))
    return result


def category_get(*, slug: str) -> Category | None:
    return Category.objects.filter(slug=slug).first()


def category_article_list(*, category: Category, user, language: str) -> list[tuple[object, list[Entry]]]:
    """The category's articles grouped by section (articles without a section come first)."""
    articles = (
        article_visible_qs(user=user)
        .filter(category=category)
        .select_related("section")
        .prefetch_related("translations")
        .order_by(F("section__position").asc(nulls_first=True), "section__name", "position", "slug")
    )
    groups: list[tuple[object, list[Entry]]] = []
    for entry in _entries(articles, language):
        section = entry.article.section
        if not groups or groups[-1][0] != section:
            groups.append((section, []))
        groups[-1][1].append(entry)
    return groups


def article_get(*, slug: str, user, language: str) -> Entry | None:
    """The article for reading, or None when it does not exist or the user may not see it."""
    article = (
        article_visible_qs(user=user)
        .select_related("category", "section")
        .prefetch_related("translations", "tags")
        .filter(slug=slug)
        .first()
    )
    if article is None:
        return None
    translation = translation_pick(article=article, language=language)
    if translation is None:
        return None
    languages = sorted(t.language for t in article.translations.all())
    return Entry(article=article, translation=translation, languages=languages)


def article_related_list(*, article: Article, user, language: str, limit: int = 5) -> list[Entry]:
    """Other readable articles sharing tags with this one, then others from its section or category."""
    tag_ids = [tag.pk for tag in article.tags.all()]
    near = Q(category_id=article.category_id)
    if tag_ids:
        near |= Q(tags__in=tag_ids)
    ids = list(
        article_visible_qs(user=user)
        .exclude(pk=article.pk)
        .filter(near)
        .annotate(
            shared=Count("tags", filter=Q(tags__in=tag_ids), distinct=True),
            same_section=Count("id", filter=Q(section_id=article.section_id), distinct=True),
        )
        .order_by("-shared", "-same_section", "position", "slug")
        .values_list("id", flat=True)[:limit]
    )
    articles = Article.objects.filter(pk__in=ids).prefetch_related("translations").in_bulk()
    return _entries([articles[pk] for pk in ids], language)


# --- Search -----------------------------------------------------------------------------------

_MARK_START, _MARK_STOP = "\x02", "\x03"
_MARKDOWN_NOISE = re.compile(r"[#*_`>|~]+|!?\[|\]\([^)]*\)")


def _snippet_html(raw: str) -> SafeString:
    """A headline with its matches marked, safe to show: everything else is escaped."""
    text = _MARKDOWN_NOISE.sub(" ", raw or "")
    text = re.sub(r"\s+", " ", text).strip()
    html = escape(text).replace(_MARK_START, "<mark>").replace(_MARK_STOP, "</mark>")
    return mark_safe(html)  # noqa: S308 - escaped above; only our own <mark> tags are added


def _postgres_search(
    translations: QuerySet, query: str, language: str, limit: int
) -> list[tuple[ArticleTranslation, str]]:
    from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank

    config = SEARCH_CONFIGS.get(language, "simple")
    search_query = SearchQuery(query, config=config, search_type="websearch")
    rows = (
        translations.filter(language=language, search_vector=search_query)
        .annotate(rank=SearchRank(F("search_vector"), search_query))
        .order_by("-rank", "title")[:limit]
    )
    # Headlines are costly: only for the page of results, in a second small query.
    found = list(rows)
    if not found:
        return []
    headlines = dict(
        ArticleTranslation.objects.filter(pk__in=[row.pk for row in found])
        .annotate(
            headline=SearchHeadline(
                "body_markdown",
                search_query,
                config=config,
                start_sel=_MARK_START,
                stop_sel=_MARK_STOP,
                max_words=35,
                min_words=15,
            )
        )
        .values_list("pk", "headline")
    )
    return [(row, headlines.get(row.pk, "")) for row in found]


def _simple_search(
    translations: QuerySet, query: str, language: str, limit: int
) -> list[tuple[ArticleTranslation, str]]:
    words = [w for w in query.split() if w]
    rows = translations.filter(language=language)
    for word in words:
        rows = rows.filter(Q(title__icontains=word) | Q(body_markdown__icontains=word))
    found = []
    for row in rows.order_by("title")[:limit]:
        body = row.body_markdown
        start = max(body.lower().find(words[0].lower()), 0) if words else 0
        excerpt = body[max(start - 80, 0) : start + 160]
        for word in words:
            excerpt = re.sub(f"({re.escape(word)})", f"{_MARK_START}\\1{_MARK_STOP}", excerpt, flags=re.IGNORECASE)
        found.append((row, excerpt))
    return found


def article_search(*, query: str, user, language: str, limit: int = 20) -> list[Entry]:
    """Articles matching the words, best first: the reader's language with its own stemming
    (PostgreSQL full-text search), then English texts of articles not translated yet."""
    query = (query or "").strip()[:200]
    if not query:
        return []
    search = _postgres_search if settings.USES_POSTGRES else _simple_search
    visible_ids = article_visible_qs(user=user).values("id")
    translations = ArticleTranslation.objects.filter(article_id__in=visible_ids).select_related("article")
    hits = search(translations, query, language, limit)
    if language != DEFAULT_LANGUAGE and len(hits) < limit:
        untranslated = translations.exclude(article__translations__language=language)
        hits += search(untranslated, query, DEFAULT_LANGUAGE, limit - len(hits))
    return [
        Entry(article=row.article, translation=row, snippet=_snippet_html(snippet)) for row, snippet in hits[:limit]
    ]


# --- Suggestions ------------------------------------------------------------------------------

SUGGEST_CANDIDATES = 20


def _lexemes(text: str, config: str) -> set[str]:
    """The words of `text` as PostgreSQL's text search configuration stems them (stop words out)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT tsvector_to_array(to_tsvector(%s::regconfig, %s))", [config, text])
        row = cursor.fetchone()
    return set(row[0] or []) if row else set()


def _tsquery_any(terms: set[str]) -> str:
    """A raw tsquery matching any of the (already stemmed) terms."""
    quoted = ("'" + term.replace("\\", "\\\\").replace("'", "''") + "'" for term in sorted(terms))
    return " | ".join(quoted)


def suggestion_score(query_terms: set[str], title_terms: set[str], all_terms: set[str]) -> float:
    """0..1: how much of the article's title the text mentions (most of the weight), and whether
    the text's words appear in the article at all. "Can't download my invoice" against
    "Download an invoice" scores 1.0; a text sharing one common word with a long title, little."""
    if not query_terms:
        return 0.0
    title = len(title_terms & query_terms) / len(title_terms) if title_terms else 0.0
    body = min(1.0, len(all_terms & query_terms) / min(len(query_terms), 3))
    return round(0.6 * title + 0.4 * body, 3)


def _postgres_candidates(translations: QuerySet, text: str, language: str) -> list[tuple[ArticleTranslation, float]]:
    from django.contrib.postgres.fields import ArrayField
    from django.contrib.postgres.search import SearchQuery, SearchRank
    from django.db.models import Func, TextField, Value

    terms = _lexemes(text, SEARCH_CONFIGS.get(language, "simple"))
    if not terms:
        return []
    search_query = SearchQuery(_tsquery_any(terms), search_type="raw", config="simple")
    # The best candidates by rank first; their term lists (costly) only for those few.
    ids = list(
        translations.filter(language=language, search_vector=search_query)
        .annotate(rank=SearchRank(F("search_vector"), search_query))
        .order_by("-rank", "id")
        .values_list("id", flat=True)[:SUGGEST_CANDIDATES]
    )
    if not ids:
        return []
    array = ArrayField(TextField())
    rows = (
        ArticleTranslation.objects.filter(pk__in=ids)
        .select_related("article")
        .annotate(
            title_terms=Func(
                Func(F("search_vector"), Value("{a}"), function="ts_filter"),
                function="tsvector_to_array",
                output_field=array,
            ),
            all_terms=Func(F("search_vector"), function="tsvector_to_array", output_field=array),
        )
    )
    return [(row, suggestion_score(terms, set(row.title_terms or ()), set(row.all_terms or ()))) for row in rows]


def _simple_candidates(translations: QuerySet, text: str, language: str) -> list[tuple[ArticleTranslation, float]]:
    from .text import keywords

    terms = set(keywords(text))
    if not terms:
        return []
    found = []
    for row in translations.filter(language=language)[:500]:
        title_terms = set(keywords(row.title))
        all_terms = title_terms | set(keywords(row.body_markdown))
        if all_terms & terms:
            found.append((row, suggestion_score(terms, title_terms, all_terms)))
    return found


def article_suggest(text: str, language: str, limit: int = 3, min_score: float | None = None) -> list[Entry]:
    """Published public articles that answer `text` (a subject, a message, what a customer is
    typing) strongly enough: score at least `min_score` (default KB_SUGGEST_MIN_SCORE), best
    first. Looks in the language's own texts, then English texts of untranslated articles."""
    text = (text or "").replace("\x00", " ").strip()[:2000]
    if not text or limit <= 0:
        return []
    threshold = settings.KB_SUGGEST_MIN_SCORE if min_score is None else min_score
    language = language if language in LANGUAGE_CODES else DEFAULT_LANGUAGE
    public = Article.objects.filter(status=ArticleStatus.PUBLISHED, visibility=ArticleVisibility.PUBLIC).values("id")
    translations = ArticleTranslation.objects.filter(article_id__in=public).select_related("article")
    candidates = _postgres_candidates if settings.USES_POSTGRES else _simple_candidates
    scored = candidates(translations, text, language)
    if language != DEFAULT_LANGUAGE and sum(1 for _row, score in scored if score >= threshold) < limit:
        untranslated = translations.exclude(article__translations__language=language)
        scored += candidates(untranslated, text, DEFAULT_LANGUAGE)
    strong = sorted((item for item in scored if item[1] >= threshold), key=lambda item: (-item[1], item[0].title))
    entries = []
    for row, score in strong[:limit]:
        entry = Entry(article=row.article, translation=row)
        entry.score = score
        entries.append(entry)
    return entries


# --- Versions ---------------------------------------------------------------------------------


def article_version_previous(*, version: ArticleVersion) -> ArticleVersion | None:
    return version.translation.versions.filter(number__lt=version.number).order_by("-number").first()


def article_version_diff(*, version: ArticleVersion, against: ArticleVersion | None = None) -> list[tuple[str, str]]:
    """A unified diff of title and body from the previous version (or `against`) to this one,
    as (kind, line) pairs; kind is "add", "remove", "hunk" or "same"."""
    base = against if against is not None else article_version_previous(version=version)

    def lines(v: ArticleVersion | None) -> list[str]:
        return [f"# {v.title}", "", *v.body_markdown.splitlines()] if v else []

    diff = difflib.unified_diff(
        lines(base),
        lines(version),
        fromfile=f"v{base.number}" if base else "(none)",
        tofile=f"v{version.number}",
        lineterm="",
    )
    result = []
    for line in diff:
        if line.startswith(("---", "+++")):
            continue
        kind = {"+": "add", "-": "remove", "@": "hunk"}.get(line[:1], "same")
        result.append((kind, line))
    return result
