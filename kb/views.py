"""The public help centre at /help/: browse, search, read, and say whether it helped."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tickets.services.events import Actor
from tickets.views.common import agent_required

from . import reports, selectors, services
from .models import LANGUAGE_CHOICES, Article, ArticleAttachment, SearchLog, SuggestionOutcomeKind, SuggestionSource
from .services import article_feedback_record

SUGGEST_MIN_CHARS = 4


def _language(request: HttpRequest) -> str:
    return selectors.reader_language(
        requested=request.GET.get("lang") or request.POST.get("lang"),
        browser=translation.get_language_from_request(request),
    )


def _render(request: HttpRequest, template: str, language: str, context: dict, status: int = 200) -> HttpResponse:
    context = {
        **context,
        "language": language,
        "languages": LANGUAGE_CHOICES,
        "is_agent": selectors.user_is_agent(request.user),
    }
    with translation.override(language):
        return render(request, template, context, status=status)


def _visitor_key(request: HttpRequest) -> str:
    """A random key for this browser (kept in its session) tying searches, suggestions, article
    views and web-form submissions together; never shared with other visitors."""
    key = request.session.get("kb_visitor")
    if not key:
        key = secrets.token_urlsafe(16)
        request.session["kb_visitor"] = key
    return key


def _is_reader(request: HttpRequest) -> bool:
    """Analytics are about customers: agents' own searches and reads are not recorded."""
    return not selectors.user_is_agent(request.user)


def help_home(request: HttpRequest) -> HttpResponse:
    language = _language(request)
    categories = selectors.category_list(user=request.user, language=language)
    return _render(request, "kb/home.html", language, {"categories": categories})


def category_detail(request: HttpRequest, slug: str) -> HttpResponse:
    language = _language(request)
    category = selectors.category_get(slug=slug)
    if category is None:
        raise Http404
    groups = selectors.category_article_list(category=category, user=request.user, language=language)
    return _render(request, "kb/category.html", language, {"category": category, "groups": groups})


def article_detail(request: HttpRequest, slug: str) -> HttpResponse:
    language = _language(request)
    entry = selectors.article_get(slug=slug, user=request.user, language=language)
    if entry is None:
        raise Http404(_("No such article."))
    if _is_reader(request):
        services.article_view_record(article=entry.article, visitor_key=_visitor_key(request))
    voted = request.session.get("kb_voted", {}).get(str(entry.article.pk))
    context = {
        "entry": entry,
        "article": entry.article,
        "text": entry.translation,
        "related": selectors.article_related_list(article=entry.article, user=request.user, language=language),
        "voted": voted,
        "fallback": entry.translation.language != language,
    }
    return _render(request, "kb/article.html", language, context)


@require_POST
def article_feedback(request: HttpRequest, slug: str) -> HttpResponse:
    language = _language(request)
    entry = selectors.article_get(slug=slug, user=request.user, language=language)
    if entry is None:
        raise Http404
    answer = request.POST.get("helpful")
    if answer in ("yes", "no"):
        if not request.session.session_key:
            request.session.save()
        article_feedback_record(
            article=entry.article,
            language=entry.translation.language,
            helpful=answer == "yes",
            comment=request.POST.get("comment", ""),
            session_key=request.session.session_key,
        )
        voted = request.session.get("kb_voted", {})
        voted.setdefault(str(entry.article.pk), answer)
        request.session["kb_voted"] = voted
    url = reverse("kb:article", args=[slug]) + f"?lang={language}#feedback"
    return redirect(url)


def search(request: HttpRequest) -> HttpResponse:
    language = _language(request)
    query = request.GET.get("q", "").replace("\x00", " ").strip()  # NUL cannot reach PostgreSQL
    results = selectors.article_search(query=query, user=request.user, language=language) if query else []
    log = None
    if query and _is_reader(request):
        log = services.search_record(
            query=query, language=language, results=len(results), visitor_key=_visitor_key(request)
        )
    return _render(request, "kb/search.html", language, {"query": query, "results": results, "search_log": log})


@require_GET
def search_result_open(request: HttpRequest, search_id: int, position: int, slug: str) -> HttpResponse:
    """A search result was clicked: count it for the search, then show the article."""
    language = _language(request)
    entry = selectors.article_get(slug=slug, user=request.user, language=language)
    if entry is None:
        raise Http404
    log = SearchLog.objects.filter(pk=search_id).first()
    if log is not None and log.visitor_key and log.visitor_key == request.session.get("kb_visitor"):
        services.search_click_record(search=log, article=entry.article, position=position)
    return redirect(reverse("kb:article", args=[slug]) + f"?lang={language}")


# --- Files ------------------------------------------------------------------------------------


@require_GET
def attachment_download(request: HttpRequest, pk: int, filename: str) -> FileResponse:
    """An article's image or file, for those who may read the article (internal articles' files
    only to agents). Images are shown inline; everything else, SVG included, is a download that
    the browser may not run."""
    visible = selectors.article_visible_qs(user=request.user).values("id")
    attachment = ArticleAttachment.objects.filter(pk=pk, article_id__in=visible).exclude(file="").first()
    if attachment is None or attachment.filename != filename:
        raise Http404(_("No such file."))
    inline = attachment.is_image
    response = FileResponse(attachment.file.open("rb"), as_attachment=not inline, filename=attachment.filename)
    response["Content-Type"] = attachment.content_type if inline else "application/octet-stream"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=300"
    return response


# --- Suggestions as a customer types ----------------------------------------------------------


@require_GET
def suggest(request: HttpRequest) -> JsonResponse:
    """JSON for the web form: up to three published public articles that strongly match what the
    customer has typed so far. Showing them is recorded once per different set of articles."""
    language = _language(request)
    text = request.GET.get("q", "").replace("\x00", " ").strip()[:2000]
    if len(text) < SUGGEST_MIN_CHARS:
        return JsonResponse({"articles": []})
    entries = selectors.article_suggest(text, language, limit=3)
    if entries and _is_reader(request):
        ids = [entry.article.pk for entry in entries]
        if request.session.get("kb_suggested") != ids:
            request.session["kb_suggested"] = ids
            services.suggestion_shown_record(
                source=SuggestionSource.WEB_FORM, visitor_key=_visitor_key(request), articles=entries, query=text
            )
    articles = [
        {
            "title": entry.title,
            "summary": entry.translation.summary,
            "url": reverse("kb:suggest_open", args=[entry.article.slug]) + f"?lang={language}",
        }
        for entry in entries
    ]
    return JsonResponse({"articles": articles})


@require_GET
def suggest_open(request: HttpRequest, slug: str) -> HttpResponse:
    """A customer opened a suggested article from the web form."""
    language = _language(request)
    entry = selectors.article_get(slug=slug, user=request.user, language=language)
    if entry is None:
        raise Http404
    if _is_reader(request) and request.session.get("kb_visitor"):
        services.suggestion_outcome_record(
            source=SuggestionSource.WEB_FORM,
            visitor_key=_visitor_key(request),
            outcome=SuggestionOutcomeKind.OPENED,
            article=entry.article,
        )
    return redirect(reverse("kb:article", args=[slug]) + f"?lang={language}")


@require_POST
def suggest_submitted(request: HttpRequest) -> HttpResponse:
    """Beacon from the web form when the customer sends a request (with or without having
    seen suggestions): used for deflection and "article followed by a ticket"."""
    if _is_reader(request):
        services.suggestion_outcome_record(
            source=SuggestionSource.WEB_FORM, visitor_key=_visitor_key(request), outcome=SuggestionOutcomeKind.SUBMITTED
        )
    return HttpResponse(status=204)


# --- Staff pages ------------------------------------------------------------------------------


def _period_days(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("days", 30)), 365))
    except ValueError:
        return 30


@agent_required
def staff_analytics(request: HttpRequest) -> HttpResponse:
    days = _period_days(request)
    since = timezone.now() - timedelta(days=days)
    context = {
        "days": days,
        "analytics": reports.search_analytics(since=since),
        "deflection": reports.deflection_stats(since=since),
        "window": settings.KB_DEFLECTION_WINDOW_MINUTES,
    }
    return render(request, "kb/staff/analytics.html", context)


@agent_required
def staff_health(request: HttpRequest) -> HttpResponse:
    context = {
        **reports.kb_health(),
        "stale_days": settings.KB_STALE_DAYS,
        "gap_days": settings.KB_GAP_DAYS,
        "min_votes": settings.KB_UNHELPFUL_MIN_VOTES,
        "ratio": round(settings.KB_UNHELPFUL_RATIO * 100),
        "window": settings.KB_DEFLECTION_WINDOW_MINUTES,
    }
    return render(request, "kb/staff/health.html", context)


@require_POST
@agent_required
def staff_article_reviewed(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(Article, pk=pk)
    services.article_reviewed_mark(article=article, actor=Actor.agent(request.user))
    return redirect("kb:staff_health")
