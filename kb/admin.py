"""Knowledge base admin. Category, section and tag edits are audited by AuditedAdminMixin;
article text is saved through `article_translation_save` (so every change is a version), status
changes go through `article_status_set`, and versions are read-only with a diff and a restore."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from tickets.admin import AuditedAdminMixin
from tickets.services.events import Actor, event_record

from .models import (
    Article,
    ArticleAttachment,
    ArticleFeedback,
    ArticleStatus,
    ArticleTranslation,
    ArticleVersion,
    Category,
    KbTag,
    Section,
)
from .selectors import article_version_diff, article_version_previous
from .services import (
    article_attachment_add,
    article_attachment_check,
    article_attachment_remove,
    article_reviewed_mark,
    article_status_set,
    article_translation_save,
    article_version_restore,
    attachment_markdown,
)


@admin.register(Category)
class CategoryAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "position")
    list_editable = ("position",)
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name",)


@admin.register(Section)
class SectionAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "category", "slug", "position")
    list_filter = ("category",)
    list_select_related = ("category",)
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name",)


@admin.register(KbTag)
class KbTagAdmin(AuditedAdminMixin, admin.ModelAdmin):
    search_fields = ("name",)


class ArticleTranslationInline(admin.StackedInline):
    model = ArticleTranslation
    fields = ("language", "title", "summary", "body_markdown")
    extra = 0
    min_num = 1


class ArticleAttachmentForm(forms.ModelForm):
    class Meta:
        model = ArticleAttachment
        fields = ("file",)

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is not None and hasattr(upload, "content_type"):  # a new upload
            upload.seek(0)
            head = upload.read(16)
            upload.seek(0)
            article_attachment_check(filename=upload.name or "", size=upload.size or 0, head=head)
        return upload


class ArticleAttachmentInline(admin.TabularInline):
    """Images and files: upload, then paste the Markdown shown (or press "Insert") into the text."""

    model = ArticleAttachment
    form = ArticleAttachmentForm
    fields = ("file", "content_type", "size", "markdown")
    readonly_fields = ("content_type", "size", "markdown")
    extra = 1
    verbose_name_plural = _("images and files")

    class Media:
        js = ("kb/admin-files.js",)

    @admin.display(description=_("Markdown to insert"))
    def markdown(self, obj: ArticleAttachment) -> str:
        if not obj.pk:
            return "-"
        snippet = attachment_markdown(obj)
        return format_html(
            '<code>{}</code> <button type="button" class="button" data-kb-insert="{}">{}</button>',
            snippet,
            snippet,
            _("Insert"),
        )


@admin.register(Article)
class ArticleAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("slug", "category", "section", "status", "visibility", "updated_at", "reviewed_at")
    list_filter = ("status", "visibility", "category")
    list_select_related = ("category", "section")
    search_fields = ("slug", "translations__title")
    autocomplete_fields = ("tags",)
    readonly_fields = ("status", "published_at", "reviewed_at", "author", "history")
    fields = (
        "slug",
        "category",
        "section",
        "visibility",
        "tags",
        "position",
        "status",
        "published_at",
        "reviewed_at",
        "author",
        "history",
    )
    inlines = [ArticleTranslationInline, ArticleAttachmentInline]
    actions = ["publish", "send_to_review", "back_to_draft", "mark_reviewed"]
    audit_exclude = ("status",)

    @admin.display(description=_("version history"))
    def history(self, obj: Article) -> str:
        if not obj.pk:
            return "-"
        url = reverse("admin:kb_articleversion_changelist") + f"?translation__article__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Versions and diffs"))

    def save_model(self, request, obj, form, change):
        if not change:
            obj.author = request.user
        super().save_model(request, obj, form, change)

    def _save_attachments(self, request, form, formset) -> None:
        article = form.instance
        actor = Actor.agent(request.user)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for sub in formset.forms:
            existing = sub.instance if sub.instance.pk else None
            if existing is not None:
                if formset.can_delete and sub in formset.deleted_forms:
                    article_attachment_remove(attachment=existing, actor=actor)
                    formset.deleted_objects.append(existing)
                continue
            upload = sub.cleaned_data.get("file") if sub.has_changed() else None
            if upload:
                formset.new_objects.append(article_attachment_add(article=article, upload=upload, actor=actor))

    def save_formset(self, request, form, formset, change):
        if formset.model is ArticleAttachment:
            return self._save_attachments(request, form, formset)
        if formset.model is not ArticleTranslation:
            return super().save_formset(request, form, formset, change)
        article = form.instance
        actor = Actor.agent(request.user)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for sub in formset.forms:
            if not sub.has_changed() and not (formset.can_delete and sub in formset.deleted_forms):
                continue
            existing = sub.instance if sub.instance.pk else None
            if formset.can_delete and sub in formset.deleted_forms:
                if existing is not None:
                    event_record(
                        obj=article, verb="translation_removed", data={"language": existing.language}, actor=actor
                    )
                    existing.delete()
                    formset.deleted_objects.append(existing)
                continue
            data = sub.cleaned_data
            language = sub.initial.get("language", data["language"]) if existing else data["language"]
            saved = article_translation_save(
                article=article,
                language=language,
                title=data["title"],
                summary=data.get("summary", ""),
                body_markdown=data["body_markdown"],
                actor=actor,
            )
            if existing:
                formset.changed_objects.append((saved, list(sub.changed_data)))
            else:
                formset.new_objects.append(saved)

    def _set_status(self, request: HttpRequest, queryset, status: str) -> None:
        done = 0
        for article in queryset:
            try:
                article_status_set(article=article, status=status, actor=Actor.agent(request.user))
                done += 1
            except (ValidationError, PermissionDenied) as error:
                self.message_user(
                    request,
                    f"{article.slug}: {'; '.join(error.messages) if hasattr(error, 'messages') else error}",
                    messages.ERROR,
                )
        if done:
            self.message_user(request, _("%(count)d article(s) updated.") % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Publish selected articles"))
    def publish(self, request, queryset):
        self._set_status(request, queryset, ArticleStatus.PUBLISHED)

    @admin.action(description=_("Send selected articles to review"))
    def send_to_review(self, request, queryset):
        self._set_status(request, queryset, ArticleStatus.IN_REVIEW)

    @admin.action(description=_("Move selected articles back to draft"))
    def back_to_draft(self, request, queryset):
        self._set_status(request, queryset, ArticleStatus.DRAFT)

    @admin.action(description=_("Mark selected articles as reviewed (still right)"))
    def mark_reviewed(self, request, queryset):
        for article in queryset:
            article_reviewed_mark(article=article, actor=Actor.agent(request.user))
        self.message_user(request, _("%(count)d article(s) marked as reviewed.") % {"count": len(queryset)})


@admin.register(ArticleVersion)
class ArticleVersionAdmin(admin.ModelAdmin):
    list_display = ("translation", "number", "title", "author", "created_at", "note", "diff_link")
    list_filter = ("translation__language",)
    list_select_related = ("translation", "translation__article", "author")
    search_fields = ("translation__article__slug", "title")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("diff"))
    def diff_link(self, obj: ArticleVersion) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:kb_articleversion_diff", args=[obj.pk]), _("diff / restore")
        )

    def get_urls(self):
        extra = [path("<int:pk>/diff/", self.admin_site.admin_view(self.diff_view), name="kb_articleversion_diff")]
        return extra + super().get_urls()

    def diff_view(self, request: HttpRequest, pk: int):
        version = get_object_or_404(ArticleVersion.objects.select_related("translation__article"), pk=pk)
        if not self.has_view_permission(request, version):
            raise PermissionDenied
        if request.method == "POST":
            if not request.user.has_perm("kb.change_article"):
                raise PermissionDenied
            new = article_version_restore(version=version, actor=Actor.agent(request.user))
            self.message_user(
                request,
                _("Version %(old)d restored as version %(new)d.") % {"old": version.number, "new": new.number},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:kb_articleversion_diff", args=[new.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Changes in %(version)s") % {"version": version},
            "version": version,
            "previous": article_version_previous(version=version),
            "lines": article_version_diff(version=version),
            "is_latest": not version.translation.versions.filter(number__gt=version.number).exists(),
        }
        return TemplateResponse(request, "kb/admin/version_diff.html", context)


@admin.register(ArticleFeedback)
class ArticleFeedbackAdmin(admin.ModelAdmin):
    list_display = ("article", "language", "helpful", "comment", "created_at")
    list_filter = ("helpful", "language")
    list_select_related = ("article",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
