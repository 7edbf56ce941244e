"""Writes to the knowledge base. Every change leaves an audit Event; every saved text a version."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from tickets.models import ActorKind
from tickets.services.events import Actor, event_record

from .models import (
    DEFAULT_LANGUAGE,
    LANGUAGE_CHOICES,
    SEARCH_CONFIGS,
    Article,
    ArticleAttachment,
    ArticleFeedback,
    ArticleStatus,
    ArticleTranslation,
    ArticleVersion,
    ArticleView,
    ArticleVisibility,
    Category,
    KbTag,
    SearchClick,
    SearchLog,
    Section,
    SuggestionOutcome,
    SuggestionOutcomeKind,
    SuggestionShown,
    SuggestionSource,
)
from .rendering import render_markdown
from .selectors import user_is_agent
from .text import query_normalise

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
    _search_vector_update(translation)
    if text_changed:
        Article.objects.filter(pk=article.pk).update(reviewed_at=timezone.now())
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


def _search_vector_update(translation: ArticleTranslation) -> None:
    """Keep the stored title + body search vector of one translation (PostgreSQL only)."""
    if not settings.USES_POSTGRES:
        return
    from django.contrib.postgres.search import SearchVector

    config = SEARCH_CONFIGS.get(translation.language, "simple")
    ArticleTranslation.objects.filter(pk=translation.pk).update(
        search_vector=SearchVector("title", weight="A", config=config)
        + SearchVector("body_markdown", weight="B", config=config)
    )


def search_vectors_refresh(*, language: str | None = None) -> int:
    """Recompute stored search vectors in bulk (after a bulk load, e.g. the search benchmark)."""
    if not settings.USES_POSTGRES:
        return 0
    from django.contrib.postgres.search import SearchVector

    done = 0
    for code, config in SEARCH_CONFIGS.items():
        if language and code != language:
            continue
        done += ArticleTranslation.objects.filter(language=code).update(
            search_vector=SearchVector("title", weight="A", config=config)
            + SearchVector("body_markdown", weight="B", config=config)
        )
    return done


@transaction.atomic
def article_reviewed_mark(*, article: Article, actor: Actor) -> Article:
    """An editor checked the article and it is still right: it is no longer stale."""
    _check_can_edit(actor)
    now = timezone.now()
    Article.objects.filter(pk=article.pk).update(reviewed_at=now)
    article.reviewed_at = now
    event_record(obj=article, verb="reviewed", actor=actor)
    return article


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


# --- Files ------------------------------------------------------------------------------------

# Extension -> the type the file is stored and served as. Images must really be images (their
# first bytes are checked); SVG is kept but only ever downloaded, never shown inline.
ALLOWED_FILE_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "txt": "text/plain",
    "csv": "text/csv",
    "zip": "application/zip",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
}
_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "pdf": (b"%PDF-",),
}


def article_attachment_check(*, filename: str, size: int, head: bytes) -> str:
    """The content type a file is stored as, or ValidationError saying why it cannot be."""
    limit = settings.KB_MAX_ATTACHMENT_BYTES
    if size > limit:
        raise ValidationError(
            _("%(name)s is too large: files up to %(limit)s MB can be added.")
            % {"name": filename, "limit": round(limit / 1024 / 1024, 1)}
        )
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    content_type = ALLOWED_FILE_TYPES.get(extension)
    if content_type is None:
        raise ValidationError(
            _("%(name)s: this kind of file cannot be added (allowed: %(kinds)s).")
            % {"name": filename, "kinds": ", ".join(sorted(ALLOWED_FILE_TYPES))}
        )
    signatures = _MAGIC.get(content_type) or (_MAGIC["pdf"] if extension == "pdf" else ())
    webp = content_type == "image/webp" and head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if (signatures or content_type == "image/webp") and not (webp or head.startswith(tuple(signatures))):
        raise ValidationError(_("%(name)s is not really a %(kind)s file.") % {"name": filename, "kind": extension})
    return content_type


@transaction.atomic
def article_attachment_add(*, article: Article, upload, actor: Actor) -> ArticleAttachment:
    """Store an uploaded image or file on the article (limits: KB_MAX_ATTACHMENT_BYTES and the
    ALLOWED_FILE_TYPES). The Markdown to show or link it is `attachment_markdown(...)`."""
    _check_can_edit(actor)
    filename = get_valid_filename(os.path.basename(upload.name or ""))[:200] or "file"
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    content_type = article_attachment_check(filename=filename, size=upload.size or 0, head=head)
    attachment = ArticleAttachment(
        article=article, filename=filename, content_type=content_type, size=upload.size or 0, uploaded_by=actor.user
    )
    attachment.file.save(filename, upload, save=False)
    attachment.save()
    event_record(
        obj=article,
        verb="file_added",
        data={"file": filename, "size": attachment.size, "type": content_type},
        actor=actor,
    )
    return attachment


def attachment_markdown(attachment: ArticleAttachment) -> str:
    """What to paste into the article's Markdown: an image for pictures, a link for the rest."""
    from django.urls import reverse

    url = reverse("kb:file", args=[attachment.pk, attachment.filename])
    label = attachment.filename.replace("[", "").replace("]", "")
    return f"![{label}]({url})" if attachment.is_image else f"[{label}]({url})"


@transaction.atomic
def article_attachment_remove(*, attachment: ArticleAttachment, actor: Actor) -> None:
    _check_can_edit(actor)
    event_record(obj=attachment.article, verb="file_removed", data={"file": attachment.filename}, actor=actor)
    attachment.file.delete(save=False)
    attachment.delete()


# --- Analytics and suggestions ----------------------------------------------------------------


def search_record(*, query: str, language: str, results: int, visitor_key: str = "") -> SearchLog | None:
    """Remember a help-centre search (normalised words, how many articles it found)."""
    normalised = query_normalise(query)
    if not normalised:
        return None
    return SearchLog.objects.create(
        query=normalised,
        language=language if language in _LANGUAGES else DEFAULT_LANGUAGE,
        results=max(0, results),
        visitor_key=visitor_key[:64],
    )


def search_click_record(*, search: SearchLog, article: Article, position: int) -> SearchClick:
    return SearchClick.objects.create(search=search, article=article, position=max(1, min(position, 1000)))


def article_view_record(*, article: Article, visitor_key: str) -> ArticleView | None:
    """A reader opened an article (once per visitor and article per 10 minutes)."""
    if not visitor_key:
        return None
    recent = timezone.now() - timedelta(minutes=10)
    if ArticleView.objects.filter(article=article, visitor_key=visitor_key, created_at__gte=recent).exists():
        return None
    return ArticleView.objects.create(article=article, visitor_key=visitor_key[:64])


def _source_check(source: str) -> str:
    if source not in SuggestionSource.values:
        raise ValidationError(_("Unknown suggestion source %(source)s.") % {"source": source})
    return source


def suggestion_shown_record(*, source: str, visitor_key: str, articles: Iterable, query: str) -> SuggestionShown:
    """Articles were suggested to a visitor. `source`: "web_form", "chat" or "email"; `visitor_key`:
    anything stable for this visitor (the web session's key, "chat:<conversation id>", ...);
    `articles`: Article objects, kb.selectors.Entry values or article ids."""
    ids = []
    for item in articles:
        article = getattr(item, "article", item)
        ids.append(int(getattr(article, "pk", article)))
    return SuggestionShown.objects.create(
        source=_source_check(source), visitor_key=visitor_key[:64], query=(query or "")[:300], article_ids=ids
    )


def suggestion_outcome_record(
    *, source: str, visitor_key: str, outcome: str, article: Article | int | None = None
) -> SuggestionOutcome:
    """What the visitor did next: "opened" a suggested article, said it "resolved" the problem,
    "submitted" a request anyway (web form), or "escalated" to a person (chat). A visitor who saw
    suggestions, opened or was helped by one, and did not submit or escalate within
    KB_DEFLECTION_WINDOW_MINUTES counts as a deflection (kb.reports.deflection_stats)."""
    if outcome not in SuggestionOutcomeKind.values:
        raise ValidationError(_("Unknown outcome %(outcome)s.") % {"outcome": outcome})
    article_id = getattr(article, "pk", article)
    return SuggestionOutcome.objects.create(
        source=_source_check(source), visitor_key=visitor_key[:64], outcome=outcome, article_id=article_id
    )
