"""Mailboxes in the admin. Passwords are write-only: the form never shows them back, and a
blank field keeps the stored one. The inbound token is shown once, when it is generated."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .email.mailboxes import mailbox_inbound_token_issue
from .models import Mailbox

_KEEP = _("Leave blank to keep the stored password.")


class MailboxForm(forms.ModelForm):
    imap_password = forms.CharField(
        label=_("IMAP password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_KEEP,
    )
    imap_password_clear = forms.BooleanField(label=_("Remove the IMAP password"), required=False)
    smtp_password = forms.CharField(
        label=_("SMTP password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_KEEP,
    )
    smtp_password_clear = forms.BooleanField(label=_("Remove the SMTP password"), required=False)

    class Meta:
        model = Mailbox
        fields = (
            "address",
            "display_name",
            "default_team",
            "is_active",
            "is_default",
            "acknowledge_new_tickets",
            "imap_host",
            "imap_port",
            "imap_ssl",
            "imap_username",
            "imap_folder",
            "after_import",
            "after_import_folder",
            "smtp_host",
            "smtp_port",
            "smtp_starttls",
            "smtp_ssl",
            "smtp_username",
        )

    def clean(self):
        data = super().clean()
        if data.get("after_import") == "move" and not (data.get("after_import_folder") or "").strip():
            self.add_error("after_import_folder", _("Name the folder imported mail is moved to."))
        if data.get("smtp_ssl") and data.get("smtp_starttls"):
            self.add_error("smtp_starttls", _("Choose either SSL/TLS or STARTTLS, not both."))
        return data

    def save(self, commit: bool = True) -> Mailbox:
        mailbox = super().save(commit=False)
        for name in ("imap", "smtp"):
            new = self.cleaned_data.get(f"{name}_password") or ""
            if self.cleaned_data.get(f"{name}_password_clear"):
                setattr(mailbox, f"{name}_password", "")
            elif new:
                setattr(mailbox, f"{name}_password", new)
        if commit:
            mailbox.save()
            self.save_m2m()
        return mailbox


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxForm
    list_display = ("address", "display_name", "is_active", "is_default", "default_team", "last_polled_at", "status")
    list_filter = ("is_active",)
    list_select_related = ("default_team",)
    search_fields = ("address", "display_name")
    readonly_fields = (
        "imap_password_state",
        "smtp_password_state",
        "inbound_token_state",
        "last_polled_at",
        "last_error",
        "last_error_at",
        "imap_uid_validity",
        "imap_last_uid",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "address",
                    "display_name",
                    "default_team",
                    "is_active",
                    "is_default",
                    "acknowledge_new_tickets",
                )
            },
        ),
        (
            _("Incoming mail (IMAP)"),
            {
                "fields": (
                    "imap_host",
                    "imap_port",
                    "imap_ssl",
                    "imap_username",
                    "imap_password_state",
                    "imap_password",
                    "imap_password_clear",
                    "imap_folder",
                    "after_import",
                    "after_import_folder",
                )
            },
        ),
        (
            _("Outgoing mail (SMTP)"),
            {
                "fields": (
                    "smtp_host",
                    "smtp_port",
                    "smtp_starttls",
                    "smtp_ssl",
                    "smtp_username",
                    "smtp_password_state",
                    "smtp_password",
                    "smtp_password_clear",
                )
            },
        ),
        (
            _("Status"),
            {
                "fields": (
                    "inbound_token_state",
                    "last_polled_at",
                    "last_error",
                    "last_error_at",
                    "imap_uid_validity",
                    "imap_last_uid",
                )
            },
        ),
    )
    actions = ["inbound_token_generate", "poll_now"]

    @admin.display(description=_("status"))
    def status(self, obj: Mailbox) -> str:
        if obj.last_error:
            return _("Error: %(error)s") % {"error": obj.last_error[:120]}
        return _("OK") if obj.last_polled_at else "-"

    @admin.display(description=_("IMAP password"))
    def imap_password_state(self, obj: Mailbox) -> str:
        return _("set (hidden)") if obj.imap_password_encrypted else _("not set")

    @admin.display(description=_("SMTP password"))
    def smtp_password_state(self, obj: Mailbox) -> str:
        return _("set (hidden)") if obj.smtp_password_encrypted else _("not set")

    @admin.display(description=_("inbound token"))
    def inbound_token_state(self, obj: Mailbox) -> str:
        if not obj.inbound_token_hash:
            return _('none: use the action "Generate a new inbound token" in the mailbox list')
        return _("set on %(date)s (only its hash is stored)") % {"date": obj.inbound_token_created_at}

    @admin.action(description=_("Generate a new inbound token (replaces the old one)"))
    def inbound_token_generate(self, request, queryset):
        for mailbox in queryset:
            token = mailbox_inbound_token_issue(mailbox=mailbox)
            self.message_user(
                request,
                _(
                    "New inbound token for %(address)s, shown only this once: %(token)s. "
                    "POST raw messages to /inbound/email/ with the header 'Authorization: Bearer <token>'."
                )
                % {"address": mailbox.address, "token": token},
                messages.WARNING,
            )

    @admin.action(description=_("Fetch new mail now"))
    def poll_now(self, request, queryset):
        from .tasks import email_mailbox_poll_task

        count = 0
        for mailbox in queryset.filter(is_active=True).exclude(imap_host=""):
            email_mailbox_poll_task.delay(mailbox.pk)
            count += 1
        self.message_user(
            request, ngettext("%(n)d mailbox will be polled.", "%(n)d mailboxes will be polled.", count) % {"n": count}
        )
