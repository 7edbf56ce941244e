"""Writes to the knowledge base. Every change leaves an audit Event; every saved text a version."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.models import ActorKind
from tickets.services.events import Actor, event_record

from .models import (
    DEFAULT_LANGUAGE,
    LANGUAGE_CHOICES,
    Article,
    ArticleFeedback,
    ArticleStatus,
    ArticleTranslation,
    ArticleVersion,
    ArticleVisibility,
    Category,
    KbTag,
    Section,
)
from .rendering import render_markdown
from .selectors import user_is_agent

_LANGUAGES = {code for code, _name in LANGUAGE_CHOICES}


def _check_can_edit(actor: Actor) -> None:
    """Only agents (and the system itself) write articles."""
    if actor.kind == ActorKind.SYSTEM:
        return
    if actor.kind in (ActorKind.AGENT, ActorKind.API) and actor.user is not None and user_is_agent(actor.user):
        return
    raise PermissionDenied(_("Only agents can change knowledge base articles."))


@transaction.atomic
def article_create(
    *,
    slug: str,
    category: Category,
    title: str,
    body_markdown: str,
    actor: Actor,
    section: Section | None = None,
    language: str = DEFAULT_LANGUAGE,
    summary: str = "",
    visibility: str = ArticleVisibility.PUBLIC,
    tags: Iterable[str] = (),
) -> Article:
    _check_can_edit(actor)
    article = Article(slug=slug, category=category, section=section, visibility=visibility, author=actor.user)
    article.full_clean()
    article.save()
    tag_objects = [KbTag.objects.get_or_create(name=name.strip())[0] for name in tags if name.strip()]
    article.tags.set(tag_objects)
    event_record(
        obj=article,
        verb="created",
        new={"slug": slug, "category": category, "visibility": visibility, "tags": sorted(t.name for t in tag_objects)},
        actor=actor,
    )
    article_translation_save(
        article=article, language=language, title=title, summary=summary, body_markdown=body_markdown, actor=actor
    )
    return article


@transaction.atomic
def article_translation_save(
    *,
    article: Article,
    language: str,
    title: str,
    body_markdown: str,
    actor: Actor,
    summary: str | None = None,
    note: str = "",
) -> ArticleTranslation:
    """Create or update the article's text in one language. A new version is kept whenever the
    title or the body changes (saving the same text twice keeps one version)."""
    _check_can_edit(actor)
    if language not in _LANGUAGES:
        raise ValidationError({"language": _("Unknown language %(code)s.") % {"code": language}})
    if not title.strip():
        raise ValidationError({"title": _("An article needs a title.")})
    translation = ArticleTranslation.objects.select_for_update().filter(article=article, language=language).first()
    created = translation is None
    if created:
        translation = ArticleTranslation(article=article, language=language)
    text_changed = created or translation.title != title or translation.body_markdown != body_markdown
    translation.title = title
    translation.body_markdown = body_markdown
    translation.body_html = render_markdown(body_markdown)
    if summary is not None:
        translation.summary = summary
    translation.save()
    if text_changed:
        last = translation.versions.aggregate(n=Max("number"))["n"] or 0
        version = ArticleVersion.objects.create(
            translation=translation,
            number=last + 1,
            title=title,
            body_markdown=body_markdown,
            author=actor.user,
            note=note,
        )
        event_record(
            obj=article,
            verb="translation_created" if created else "translation_changed",
            data={"language": language, "version": version.number, "title": title},
            actor=actor,
        )
    return translation


@transaction.atomic
def article_status_set(*, article: Article, status: str, actor: Actor) -> Article:
    _check_can_edit(actor)
    if status not in ArticleStatus.values:
        raise ValidationError({"status": _("Unknown status %(status)s.") % {"status": status}})
    article = Article.objects.select_for_update().get(pk=article.pk)
    old = article.status
    if old == status:
        return article
    if status == ArticleStatus.PUBLISHED and not article.translations.exists():
        raise ValidationError(_("An article without any text cannot be published."))
    article.status = status
    fields = ["status", "updated_at"]
    if status == ArticleStatus.PUBLISHED:
        article.published_at = timezone.now()
        fields.append("published_at")
    article.save(update_fields=fields)
    event_record(obj=article, verb="changed", field="status", old=old, new=status, actor=actor)
    return article


def article_publish(*, article: Article, actor: Actor) -> Article:
    return article_status_set(article=article, status=ArticleStatus.PUBLISHED, actor=actor)


@transaction.atomic
def article_version_restore(*, version: ArticleVersion, actor: Actor) -> ArticleVersion:
    """Bring back an earlier text. History is never rewritten: the restored text becomes a new
    version on top."""
    translation = version.translation
    article_translation_save(
        article=translation.article,
        language=translation.language,
        title=version.title,
        body_markdown=version.body_markdown,
        actor=actor,
        note=_("Restored from version %(number)s") % {"number": version.number},
    )
    newest = translation.versions.order_by("-number").first()
    event_record(
        obj=translation.article,
        verb="version_restored",
        data={"language": translation.language, "from_version": version.number, "new_version": newest.number},
        actor=actor,
    )
    return newest


def article_feedback_record(
    *, article: Article, language: str, helpful: bool, session_key: str, comment: str = ""
) -> tuple[ArticleFeedback, bool]:
    """Store a reader's vote; a second vote from the same session is ignored. Returns
    (feedback, created)."""
    if not session_key:
        raise ValidationError(_("Feedback needs a session."))
    existing = ArticleFeedback.objects.filter(article=article, session_key=session_key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            feedback = ArticleFeedback.objects.create(
                article=article,
                language=language if language in _LANGUAGES else DEFAULT_LANGUAGE,
                helpful=helpful,
                comment=comment.strip()[:2000],
                session_key=session_key,
            )
    except IntegrityError:  # the same session voted twice at once
        return ArticleFeedback.objects.get(article=article, session_key=session_key), False
    return feedback, True
