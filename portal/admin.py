"""Admin for the organization-level portal settings (Customer portal > Organization portal access)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.admin import AuditedAdminMixin

from .models import OrganizationPortalAccess


class OrganizationPortalAccessForm(forms.ModelForm):
    class Meta:
        model = OrganizationPortalAccess
        fields = ("organization", "share_tickets", "managers")

    def clean(self):
        cleaned = super().clean()
        organization = cleaned.get("organization")
        managers = cleaned.get("managers") or []
        if organization is not None:
            self.instance.organization = organization
            try:
                self.instance.clean_managers(managers)
            except forms.ValidationError as exc:
                self.add_error("managers", exc)
        return cleaned


@admin.register(OrganizationPortalAccess)
class OrganizationPortalAccessAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = OrganizationPortalAccessForm
    list_display = ("organization", "share_tickets", "manager_count", "updated_at")
    list_filter = ("share_tickets",)
    search_fields = ("organization__name",)
    autocomplete_fields = ("organization", "managers")
    readonly_fields = ("updated_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization").prefetch_related("managers")

    @admin.display(description=_("managers"))
    def manager_count(self, obj: OrganizationPortalAccess) -> int:
        return len(obj.managers.all())

    def save_model(self, request, obj, form, change):
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)
