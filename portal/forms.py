"""Forms of the web form and portal. Validation only; the views hand clean values to services."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from channels_inbox.webform.adapter import WebUpload

DEFAULT_CATEGORIES = (
    ("question", _("A question")),
    ("problem", _("Something does not work")),
    ("billing", _("Billing and payments")),
    ("feedback", _("Feedback")),
)


def categories() -> list[tuple[str, str]]:
    return list(getattr(settings, "PORTAL_CATEGORIES", DEFAULT_CATEGORIES))


def max_attachment_bytes() -> int:
    return int(getattr(settings, "PORTAL_MAX_ATTACHMENT_BYTES", 5 * 1024 * 1024))


def max_attachments() -> int:
    return int(getattr(settings, "PORTAL_MAX_ATTACHMENTS", 5))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


class AttachmentsMixin(forms.Form):
    attachments = MultipleFileField(label=_("Attachments"), required=False)

    def clean_attachments(self) -> list:
        files = self.cleaned_data.get("attachments") or []
        limit = max_attachments()
        if len(files) > limit:
            raise forms.ValidationError(
                ngettext("Attach at most %(n)d file.", "Attach at most %(n)d files.", limit) % {"n": limit}
            )
        size_limit = max_attachment_bytes()
        for upload in files:
            if upload.size > size_limit:
                raise forms.ValidationError(
                    _("%(name)s is larger than %(limit)s.") % {"name": upload.name, "limit": filesizeformat(size_limit)}
                )
        return files

    def uploads(self) -> list[WebUpload]:
        result = []
        for upload in self.cleaned_data.get("attachments") or []:
            upload.seek(0)
            result.append(
                WebUpload(
                    filename=upload.name,
                    content_type=upload.content_type or "application/octet-stream",
                    content=upload.read(),
                )
            )
        return result


class RequestForm(AttachmentsMixin):
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(label=_("Your email address"), max_length=254)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    category = forms.ChoiceField(label=_("Topic"), choices=())
    description = forms.CharField(
        label=_("How can we help?"), widget=forms.Textarea(attrs={"rows": 7}), max_length=20000
    )
    # A field people never see; bots fill in every field they find.
    website = forms.CharField(label=_("Leave this field empty"), required=False)

    field_order = ["name", "email", "subject", "category", "description", "attachments", "website"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = categories()

    @property
    def is_spam(self) -> bool:
        return bool((self.data.get("website") or "").strip())


class ReplyForm(AttachmentsMixin):
    body = forms.CharField(label=_("Your reply"), widget=forms.Textarea(attrs={"rows": 5}), max_length=20000)


class MagicLinkForm(forms.Form):
    email = forms.EmailField(label=_("Your email address"), max_length=254)


class RatingForm(forms.Form):
    csat = forms.TypedChoiceField(
        label=_("How satisfied are you with the help you got?"),
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
        help_text=_("1 = very unsatisfied, 5 = very satisfied"),
    )
    ces = forms.TypedChoiceField(
        label=_("How easy was it to get your problem solved?"),
        choices=[(n, str(n)) for n in range(1, 8)],
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
        help_text=_("1 = very easy, 7 = very difficult"),
    )
    comment = forms.CharField(
        label=_("Anything you would like to tell us?"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
