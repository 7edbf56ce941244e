"""Admin for routing rules, team assignment, skills and agent schedules (managers and admins,
audited like every other setting); ticket routes and chat offers are read-only."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from tickets.admin import AuditedAdminMixin, EstimatedCountPaginator, ReadOnlyAdminMixin
from tickets.models import Channel, Tier

from .models import (
    AgentSchedule,
    AgentSkill,
    ChatOffer,
    RoutingRule,
    Skill,
    TeamAssignment,
    TicketRoute,
)
from .services import can_manage_routing


class RoutingAdminMixin:
    """The role decides: managers and admins manage routing; nobody else sees it here."""

    def has_module_permission(self, request):
        return can_manage_routing(request.user)

    def has_view_permission(self, request, obj=None):
        return can_manage_routing(request.user)

    def has_add_permission(self, request, obj=None):
        return can_manage_routing(request.user)

    def has_change_permission(self, request, obj=None):
        return can_manage_routing(request.user)

    def has_delete_permission(self, request, obj=None):
        return can_manage_routing(request.user)


class ReadOnlyRoutingAdminMixin(ReadOnlyAdminMixin):
    def has_module_permission(self, request):
        return can_manage_routing(request.user)

    def has_view_permission(self, request, obj=None):
        return can_manage_routing(request.user)


def _choices_field(choices, label) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label,
        choices=choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any."),
    )


class _WordsField(forms.CharField):
    """A list of words or phrases edited as comma-separated text."""

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [part.strip() for part in text.split(",") if part.strip()]


class RoutingRuleForm(forms.ModelForm):
    channels = _choices_field(Channel.choices, _("channels"))
    tiers = _choices_field(Tier.choices, _("customer tiers"))
    languages = _choices_field(settings.LANGUAGES, _("languages"))
    keywords = _WordsField(
        label=_("keywords"), required=False, help_text=_("Comma-separated; any one in the subject or first message.")
    )
    tags = _WordsField(label=_("tags"), required=False, help_text=_("Comma-separated tags the ticket already has."))
    add_tags = _WordsField(label=_("add tags"), required=False, help_text=_("Comma-separated."))
    require_skills = _WordsField(label=_("require skills"), required=False, help_text=_("Comma-separated skill names."))

    class Meta:
        model = RoutingRule
        fields = [
            "name",
            "position",
            "is_active",
            "stop_processing",
            "channels",
            "keywords",
            "languages",
            "tiers",
            "organizations",
            "tags",
            "tags_match",
            "set_team",
            "set_priority",
            "add_tags",
            "require_skills",
        ]


@admin.register(RoutingRule)
class RoutingRuleAdmin(RoutingAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    form = RoutingRuleForm
    list_display = ("name", "position", "is_active", "stop_processing", "set_team", "set_priority")
    list_editable = ("position", "is_active")
    list_select_related = ("set_team",)
    search_fields = ("name",)
    filter_horizontal = ("organizations",)
    fieldsets = (
        (None, {"fields": ("name", "position", "is_active", "stop_processing")}),
        (
            _("When a new ticket matches"),
            {"fields": ("channels", "keywords", "languages", "tiers", "organizations", "tags", "tags_match")},
        ),
        (_("Then"), {"fields": ("set_team", "set_priority", "add_tags", "require_skills")}),
    )


@admin.register(TeamAssignment)
class TeamAssignmentAdmin(RoutingAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("team", "strategy", "is_active", "chat_offer_minutes")
    list_editable = ("strategy", "is_active")
    list_select_related = ("team",)


class AgentSkillInline(admin.TabularInline):
    model = AgentSkill
    extra = 0
    autocomplete_fields = ("agent",)


@admin.register(Skill)
class SkillAdmin(RoutingAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)
    inlines = [AgentSkillInline]


@admin.register(AgentSkill)
class AgentSkillAdmin(RoutingAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("agent", "skill", "level")
    list_filter = ("skill",)
    list_select_related = ("agent__user", "skill")
    autocomplete_fields = ("agent", "skill")


@admin.register(AgentSchedule)
class AgentScheduleAdmin(RoutingAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("agent", "calendar", "last_assigned_at")
    list_select_related = ("agent__user", "calendar")
    readonly_fields = ("last_assigned_at",)
    autocomplete_fields = ("agent",)


@admin.register(TicketRoute)
class TicketRouteAdmin(ReadOnlyRoutingAdminMixin, admin.ModelAdmin):
    list_display = ("ticket", "routed_at", "rules", "required_skills")
    list_select_related = ("ticket",)
    raw_id_fields = ("ticket",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    ordering = ("-id",)


@admin.register(ChatOffer)
class ChatOfferAdmin(ReadOnlyRoutingAdminMixin, admin.ModelAdmin):
    list_display = ("ticket", "agent", "state", "offered_at", "expires_at", "answered_at")
    list_filter = ("state",)
    list_select_related = ("ticket", "agent")
    raw_id_fields = ("ticket", "agent")
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    ordering = ("-id",)
