"""The public help centre at /help/: browse, search, read, and say whether it helped."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import selectors
from .models import LANGUAGE_CHOICES
from .services import article_feedback_record


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
    return _render(request, "kb/search.html", language, {"query": query, "results": results})
