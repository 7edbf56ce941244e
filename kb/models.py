"""Knowledge base: categories and sections of articles, written in Markdown in several languages.

An article is one subject; its text lives in one ArticleTranslation per language. Every saved
change of a translation's text is kept as an ArticleVersion, so any earlier text can be compared
and brought back. Status and visibility belong to the article, not to a translation.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

DEFAULT_LANGUAGE = "en"
LANGUAGE_CHOICES = [(code, name) for code, name in settings.LANGUAGES]
# PostgreSQL text search configuration for each language's stemming and stop words.
SEARCH_CONFIGS = {"en": "english", "pt-br": "portuguese", "ru": "russian"}


class Category(models.Model):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    translated_names = models.JSONField(
        _("translated names"), default=dict, blank=True, help_text=_('By language code, e.g. {"ru": "Оплата"}.')
    )
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name

    def name_in(self, language: str) -> str:
        return (self.translated_names or {}).get(language) or self.name


class Section(models.Model):
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="sections")
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=120)
    translated_names = models.JSONField(_("translated names"), default=dict, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["category__position", "position", "name"]
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        constraints = [models.UniqueConstraint(fields=["category", "slug"], name="kb_section_unique_slug")]

    def __str__(self) -> str:
        return f"{self.category} / {self.name}"

    def name_in(self, language: str) -> str:
        return (self.translated_names or {}).get(language) or self.name


class KbTag(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("article tag")
        verbose_name_plural = _("article tags")

    def __str__(self) -> str:
        return self.name


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    PUBLISHED = "published", _("Published")


class ArticleVisibility(models.TextChoices):
    PUBLIC = "public", _("Public")
    INTERNAL = "internal", _("Internal (agents only)")


class Article(models.Model):
    slug = models.SlugField(_("slug"), max_length=160, unique=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="articles")
    section = models.ForeignKey(Section, null=True, blank=True, on_delete=models.SET_NULL, related_name="articles")
    status = models.CharField(_("status"), max_length=12, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT)
    visibility = models.CharField(
        _("visibility"), max_length=10, choices=ArticleVisibility.choices, default=ArticleVisibility.PUBLIC
    )
    tags = models.ManyToManyField(KbTag, blank=True, related_name="articles", verbose_name=_("tags"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    reviewed_at = models.DateTimeField(
        _("last reviewed"), null=True, blank=True, help_text=_("Set when the text is saved or marked as reviewed.")
    )

    class Meta:
        ordering = ["position", "slug"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        indexes = [models.Index(fields=["status", "visibility"], name="kb_article_status_vis")]

    def __str__(self) -> str:
        return self.slug

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.section_id and self.section.category_id != self.category_id:
            raise ValidationError({"section": _("The section belongs to another category.")})

    @property
    def is_public(self) -> bool:
        return self.status == ArticleStatus.PUBLISHED and self.visibility == ArticleVisibility.PUBLIC


class ArticleTranslation(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGE_CHOICES, default=DEFAULT_LANGUAGE)
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=300, blank=True, help_text=_("Shown in search engines."))
    body_markdown = models.TextField(_("body (Markdown)"), blank=True)
    body_html = models.TextField(_("body (rendered)"), blank=True, editable=False)
    # Title (weight A) and body (weight B) in the language's text search configuration, kept by
    # article_translation_save; GIN-indexed on PostgreSQL (migration 0002). Unused on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["article", "language"]
        verbose_name = _("translation")
        verbose_name_plural = _("translations")
        constraints = [models.UniqueConstraint(fields=["article", "language"], name="kb_translation_one_per_language")]

    def __str__(self) -> str:
        return f"{self.title} [{self.language}]"

    @property
    def search_config(self) -> str:
        return SEARCH_CONFIGS.get(self.language, "simple")


class ArticleVersion(models.Model):
    translation = models.ForeignKey(ArticleTranslation, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("number"))
    title = models.CharField(_("title"), max_length=200)
    body_markdown = models.TextField(_("body (Markdown)"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["translation", "-number"]
        verbose_name = _("version")
        verbose_name_plural = _("versions")
        constraints = [models.UniqueConstraint(fields=["translation", "number"], name="kb_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.translation} v{self.number}"


class ArticleFeedback(models.Model):
    """One "was this helpful?" answer; at most one per article per browser session."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGE_CHOICES)
    helpful = models.BooleanField(_("helpful"))
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    session_key = models.CharField(_("session"), max_length=64)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("article feedback")
        verbose_name_plural = _("article feedback")
        constraints = [models.UniqueConstraint(fields=["article", "session_key"], name="kb_feedback_once_per_session")]

    def __str__(self) -> str:
        return f"{self.article}: {'yes' if self.helpful else 'no'}"


# --- Files ------------------------------------------------------------------------------------

# Shown inside articles; everything else (SVG included: it can carry scripts) is a download.
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def _attachment_path(instance: ArticleAttachment, filename: str) -> str:
    return f"kb/{timezone.now():%Y/%m}/{filename}"


class ArticleAttachment(models.Model):
    """An image or file uploaded to an article; served by kb.views.attachment_download with the
    article's own visibility rules."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=_attachment_path, max_length=300)
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        ordering = ["article", "created_at", "id"]
        verbose_name = _("article file")
        verbose_name_plural = _("article files")

    def __str__(self) -> str:
        return self.filename

    @property
    def is_image(self) -> bool:
        return self.content_type in INLINE_IMAGE_TYPES


# --- Analytics --------------------------------------------------------------------------------


class SearchLog(models.Model):
    """One search in the help centre: the normalised words, how many articles it found."""

    query = models.CharField(_("query"), max_length=200)
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGE_CHOICES)
    results = models.PositiveIntegerField(_("results"), default=0)
    visitor_key = models.CharField(_("visitor"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("search")
        verbose_name_plural = _("searches")
        indexes = [
            models.Index(fields=["created_at"], name="kb_searchlog_created"),
            models.Index(fields=["query", "created_at"], name="kb_searchlog_query"),
        ]

    def __str__(self) -> str:
        return self.query


class SearchClick(models.Model):
    """A result of a search the reader opened (through the /help/r/ redirect)."""

    search = models.ForeignKey(SearchLog, on_delete=models.CASCADE, related_name="clicks")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(_("position"), default=1)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("search click")
        verbose_name_plural = _("search clicks")

    def __str__(self) -> str:
        return f"{self.search_id} -> {self.article_id}"


class ArticleView(models.Model):
    """A reader (by visitor key) opened an article; kept to see what readers do next."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="views")
    visitor_key = models.CharField(_("visitor"), max_length=64)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("article view")
        verbose_name_plural = _("article views")
        indexes = [models.Index(fields=["visitor_key", "created_at"], name="kb_view_visitor")]

    def __str__(self) -> str:
        return f"{self.article_id} by {self.visitor_key}"


class SuggestionSource(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    CHAT = "chat", _("Chat bot")
    EMAIL = "email", _("Automatic answer")


class SuggestionShown(models.Model):
    """Articles suggested to a visitor (web form as they type, the chat bot, an auto-answer)."""

    source = models.CharField(_("source"), max_length=16, choices=SuggestionSource.choices)
    visitor_key = models.CharField(_("visitor"), max_length=64)
    query = models.CharField(_("query"), max_length=300, blank=True)
    article_ids = models.JSONField(_("articles"), default=list)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("suggestion shown")
        verbose_name_plural = _("suggestions shown")
        indexes = [models.Index(fields=["visitor_key", "created_at"], name="kb_shown_visitor")]

    def __str__(self) -> str:
        return f"{self.source}: {self.query}"


class SuggestionOutcomeKind(models.TextChoices):
    OPENED = "opened", _("Opened a suggested article")
    RESOLVED = "resolved", _("Said it solved the problem")
    SUBMITTED = "submitted", _("Submitted a request anyway")
    ESCALATED = "escalated", _("Asked for a person")


class SuggestionOutcome(models.Model):
    """What a visitor did after suggestions: opened one, said it helped, or wrote to us anyway.
    `submitted` is also recorded for web-form submissions without suggestions (it is how an
    article view "followed by a ticket" is seen)."""

    source = models.CharField(_("source"), max_length=16, choices=SuggestionSource.choices)
    visitor_key = models.CharField(_("visitor"), max_length=64)
    outcome = models.CharField(_("outcome"), max_length=16, choices=SuggestionOutcomeKind.choices)
    article = models.ForeignKey(Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("suggestion outcome")
        verbose_name_plural = _("suggestion outcomes")
        indexes = [models.Index(fields=["visitor_key", "created_at"], name="kb_outcome_visitor")]

    def __str__(self) -> str:
        return f"{self.source}: {self.outcome}"
