"""Admin for business hours and SLA policies (edited, audited like every other setting) and
for the SLA clocks and ledger (read-only: only the SLA engine writes them).

Imported at the end of `tickets.admin`, which defines the mixins used here.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .admin import AuditedAdminMixin, EstimatedCountPaginator, ReadOnlyAdminMixin
from .models import Channel, TicketPriority, Tier
from .models_sla import (
    BusinessCalendar,
    BusinessHoliday,
    BusinessInterval,
    SlaClock,
    SlaLedgerEntry,
    SlaPolicy,
    SlaTarget,
)


class BusinessIntervalInline(admin.TabularInline):
    model = BusinessInterval
    extra = 0


class BusinessHolidayInline(admin.TabularInline):
    model = BusinessHoliday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "time_zone", "holiday_country", "holiday_subdivision")
    search_fields = ("name",)
    readonly_fields = ("created_at",)
    inlines = [BusinessIntervalInline, BusinessHolidayInline]


@admin.register(BusinessInterval)
class BusinessIntervalAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("calendar", "weekday", "start_time", "end_time")
    list_filter = ("calendar", "weekday")
    list_select_related = ("calendar",)


@admin.register(BusinessHoliday)
class BusinessHolidayAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("calendar", "date", "name")
    list_filter = ("calendar",)
    list_select_related = ("calendar",)
    date_hierarchy = "date"


def _choices_field(choices, label) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label,
        choices=choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any."),
    )


class SlaPolicyForm(forms.ModelForm):
    priorities = _choices_field(TicketPriority.choices, _("priorities"))
    tiers = _choices_field(Tier.choices, _("customer tiers"))
    channels = _choices_field(Channel.choices, _("channels"))

    class Meta:
        model = SlaPolicy
        fields = [
            "name",
            "description",
            "position",
            "is_active",
            "priorities",
            "tiers",
            "channels",
            "organizations",
            "teams",
            "calendar",
            "warn_before_minutes",
            "breach_raise_priority",
            "breach_reassign_to",
        ]


class SlaTargetInline(admin.TabularInline):
    model = SlaTarget
    extra = 0


@admin.register(SlaPolicy)
class SlaPolicyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = SlaPolicyForm
    list_display = ("name", "position", "is_active", "calendar")
    list_editable = ("position", "is_active")
    list_select_related = ("calendar",)
    search_fields = ("name",)
    filter_horizontal = ("organizations", "teams")
    autocomplete_fields = ("breach_reassign_to",)
    inlines = [SlaTargetInline]
    fieldsets = (
        (None, {"fields": ("name", "description", "position", "is_active")}),
        (_("Applies to"), {"fields": ("priorities", "tiers", "channels", "organizations", "teams")}),
        (_("Clock"), {"fields": ("calendar", "warn_before_minutes")}),
        (_("On breach"), {"fields": ("breach_raise_priority", "breach_reassign_to")}),
    )


@admin.register(SlaTarget)
class SlaTargetAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("policy", "metric", "priority", "minutes", "business_hours")
    list_filter = ("policy", "metric")
    list_select_related = ("policy",)


@admin.register(SlaClock)
class SlaClockAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("ticket", "metric", "cycle", "state", "due_at", "warned_at", "breached_at")
    list_filter = ("metric", "state")
    list_select_related = ("ticket",)
    raw_id_fields = ("ticket",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    ordering = ("-id",)


@admin.register(SlaLedgerEntry)
class SlaLedgerEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "ticket", "metric", "kind", "due_at", "policy")
    list_filter = ("kind", "metric")
    list_select_related = ("ticket", "policy")
    raw_id_fields = ("ticket",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    ordering = ("-id",)
