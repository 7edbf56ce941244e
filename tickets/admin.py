"""The Django admin for the help desk: settings and data, for people who are not developers.

Every change made here leaves an audit Event, like a change made anywhere else:

- Tickets are written only through the ticket services (`ticket_create`, `ticket_update`,
  `ticket_change_status`, `ticket_tags_set`). When a service refuses a change (a closed
  ticket cannot be reopened, an assignee who is not an agent, ...) the form is shown again
  with the service's explanation and nothing is stored.
- Agent roles change through `agent_set_role`, so the role's group membership follows.
- Everything else that can be edited (customers, organisations, teams, tags, macros, custom
  fields, agent profiles, users) goes through `AuditedAdminMixin`, which records one Event per
  created / deleted object and per changed field, with the old and the new value.
- Messages, attachments, events, raw inbound payloads and the number counter are read-only.

Lists stay fast on large tables: related rows are joined (`list_select_related`), big foreign
keys use autocomplete widgets, the big lists skip the unfiltered total count and sort by an
indexed column.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection, models, transaction
from django.db.models.functions import Length
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from .identities import InvalidIdentity, normalize
from .models import (
    TICKET_TRANSITIONS,
    ActorKind,
    AgentProfile,
    Attachment,
    Customer,
    CustomField,
    Event,
    Identity,
    IdentityKind,
    Macro,
    Message,
    Organization,
    OrganizationDomain,
    RawInbound,
    Tag,
    Team,
    Ticket,
    TicketNumberCounter,
    TicketStatus,
)
from .services.agents import agent_set_role
from .services.events import Actor, event_record, event_record_changes
from .services.tickets import (
    TICKET_UPDATABLE_FIELDS,
    ticket_change_status,
    ticket_create,
    ticket_tags_set,
    ticket_update,
)

User = get_user_model()

# Object types that appear in the audit log, for the Event list filter (a fixed list: a
# DISTINCT over millions of events would make the page slow).
AUDITED_OBJECT_TYPES = (
    ("ticket", _("Ticket")),
    ("message", _("Message")),
    ("customer", _("Customer")),
    ("identity", _("Identity")),
    ("organization", _("Organization")),
    ("organizationdomain", _("Organization domain")),
    ("team", _("Team")),
    ("agentprofile", _("Agent profile")),
    ("tag", _("Tag")),
    ("macro", _("Macro")),
    ("customfield", _("Custom field")),
    ("user", _("User")),
)


# --- Auditing -----------------------------------------------------------------------------------


def _model_field(model: type[models.Model], name: str) -> models.Field | None:
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if field.auto_created and not field.concrete:
        return None  # a reverse relation
    return field


def audit_value(obj: models.Model, name: str) -> Any:
    """The value the audit log shows: the related object for a foreign key, the list of
    related objects for a many-to-many field, the plain value otherwise."""
    field = obj._meta.get_field(name)
    if field.many_to_many:
        return list(getattr(obj, name).all()) if obj.pk else []
    if field.is_relation:
        return getattr(obj, name)
    return field.value_from_object(obj)


def audit_snapshot(obj: models.Model, names: list[str]) -> dict[str, Any]:
    return {name: audit_value(obj, name) for name in names}


class AuditedAdminMixin:
    """Records an Event for every create, change and delete made in this admin, and for the
    rows added, changed or removed in its inlines (on the parent object).

    Changed fields are taken from the form (`changed_data`); the old value is read from the
    database before the save, the new one from the saved object."""

    audit_exclude: tuple[str, ...] = ()

    def audit_actor(self, request: HttpRequest) -> Actor:
        return Actor.agent(request.user)

    def _audited_fields(self, form: forms.BaseForm, model: type[models.Model]) -> tuple[list[str], list[str]]:
        plain, many = [], []
        for name in form.fields:
            field = _model_field(model, name)
            if field is None or name in self.audit_exclude:
                continue
            (many if field.many_to_many else plain).append(name)
        return plain, many

    def save_model(self, request, obj, form, change):
        plain, _many = self._audited_fields(form, type(obj))
        changed = [name for name in plain if name in form.changed_data]
        before: dict[str, Any] = {}
        if change and changed:
            original = type(obj)._default_manager.get(pk=obj.pk)
            before = audit_snapshot(original, changed)
        super().save_model(request, obj, form, change)
        actor = self.audit_actor(request)
        if not change:
            event_record(obj=obj, verb="created", new=audit_snapshot(obj, plain), actor=actor)
        elif changed:
            event_record_changes(
                obj=obj, changes=[(name, before[name], audit_value(obj, name)) for name in changed], actor=actor
            )

    def save_related(self, request, form, formsets, change):
        obj = form.instance
        _plain, many = self._audited_fields(form, type(obj))
        changed = [name for name in many if name in form.changed_data]
        before = {name: list(getattr(obj, name).all()) for name in changed} if change else {}
        super().save_related(request, form, formsets, change)
        if changed:
            event_record_changes(
                obj=obj,
                changes=[(name, before.get(name, []), audit_value(obj, name)) for name in changed],
                actor=self.audit_actor(request),
            )

    def save_formset(self, request, form, formset, change):
        parent = form.instance
        model = formset.model
        label = model._meta.model_name
        deleted_forms = set(formset.deleted_forms) if formset.can_delete else set()
        edited = [f for f in formset.initial_forms if f not in deleted_forms and f.has_changed()]
        originals = model._default_manager.in_bulk([f.instance.pk for f in edited])
        removed = []
        for f in deleted_forms:
            if f.instance.pk:
                names, _many = self._audited_fields(f, model)
                removed.append((f.instance.pk, audit_snapshot(f.instance, names)))
        super().save_formset(request, form, formset, change)
        actor = self.audit_actor(request)
        for item in formset.new_objects:
            names, _many = self._audited_fields(formset.forms[0], model) if formset.forms else ([], [])
            event_record(
                obj=parent, verb=f"{label}_added", new=audit_snapshot(item, names), data={"id": item.pk}, actor=actor
            )
        for item, changed_names in formset.changed_objects:
            original = originals.get(item.pk)
            if original is None:
                continue
            names = [n for n in changed_names if _model_field(model, n) is not None and n not in self.audit_exclude]
            for name in names:
                event_record(
                    obj=parent,
                    verb=f"{label}_changed",
                    field=name,
                    old=audit_value(original, name),
                    new=audit_value(item, name),
                    data={"id": item.pk},
                    actor=actor,
                )
        for pk, snapshot in removed:
            event_record(obj=parent, verb=f"{label}_removed", old=snapshot, data={"id": pk}, actor=actor)

    def _deleted_snapshot(self, obj: models.Model) -> dict[str, Any]:
        names = [
            f.name
            for f in obj._meta.concrete_fields
            if not f.primary_key and f.name not in self.audit_exclude
        ]
        return {"label": str(obj), **audit_snapshot(obj, names)}

    def delete_model(self, request, obj):
        with transaction.atomic():
            event_record(obj=obj, verb="deleted", old=self._deleted_snapshot(obj), actor=self.audit_actor(request))
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        actor = self.audit_actor(request)
        with transaction.atomic():
            for obj in queryset:
                event_record(obj=obj, verb="deleted", old=self._deleted_snapshot(obj), actor=actor)
            super().delete_queryset(request, queryset)


class EstimatedCountPaginator(Paginator):
    """Counting every row of a table of millions takes seconds on PostgreSQL; for an
    unfiltered list the planner's estimate is good enough to page through."""

    ESTIMATE_ABOVE = 50_000

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if query is not None and not query.where and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                    [self.object_list.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] and row[0] > self.ESTIMATE_ABOVE:
                return int(row[0])
        return super().count


class ReadOnlyAdminMixin:
    """Visible to whoever may view it; nobody adds, changes or deletes here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True


def _admin_link(obj: models.Model | None, text: Any = None) -> str:
    if obj is None:
        return "—"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text if text is not None else obj)


def _excerpt(text: str, words: int = 14) -> str:
    return Truncator(" ".join((text or "").split())).words(words)


# --- Organizations, teams, tags, custom fields, macros ------------------------------------------


class OrganizationDomainInline(admin.TabularInline):
    model = OrganizationDomain
    extra = 1
    fields = ("domain",)


@admin.register(Organization)
class OrganizationAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "tier", "domain_list", "created_at", "tickets_link")
    list_filter = ("tier",)
    search_fields = ("name", "domains__domain")
    ordering = ("name",)
    inlines = [OrganizationDomainInline]
    readonly_fields = ("created_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("domains")

    @admin.display(description=_("email domains"))
    def domain_list(self, obj: Organization) -> str:
        return ", ".join(d.domain for d in obj.domains.all()) or "—"

    @admin.display(description=_("tickets"))
    def tickets_link(self, obj: Organization) -> str:
        url = reverse("admin:tickets_ticket_changelist")
        return format_html('<a href="{}?organization__id__exact={}">{}</a>', url, obj.pk, _("View tickets"))


@admin.register(OrganizationDomain)
class OrganizationDomainAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("domain", "organization")
    list_select_related = ("organization",)
    search_fields = ("domain", "organization__name")
    ordering = ("domain",)
    autocomplete_fields = ("organization",)


@admin.register(Team)
class TeamAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "lead", "agent_count", "created_at")
    list_select_related = ("lead",)
    search_fields = ("name",)
    ordering = ("name",)
    autocomplete_fields = ("lead",)
    readonly_fields = ("created_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_agents=models.Count("agents"))

    @admin.display(description=_("agents"), ordering="_agents")
    def agent_count(self, obj: Team) -> int:
        return obj._agents


@admin.register(Tag)
class TagAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "swatch")
    search_fields = ("name",)
    ordering = ("name",)

    @admin.display(description=_("colour"))
    def swatch(self, obj: Tag) -> str:
        return format_html(
            '<span style="display:inline-block;width:1em;height:1em;border-radius:3px;'
            'vertical-align:middle;background:{}"></span> {}',
            obj.color,
            obj.color,
        )


@admin.register(CustomField)
class CustomFieldAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("label", "key", "type", "position", "required_to_solve", "visible_to_customers")
    list_filter = ("type", "required_to_solve", "visible_to_customers")
    search_fields = ("label", "key")
    ordering = ("position", "key")


@admin.register(Macro)
class MacroAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "team", "is_active", "usage_count", "created_by", "created_at")
    list_filter = ("is_active", "team")
    list_select_related = ("team", "created_by")
    search_fields = ("name", "description")
    ordering = ("name",)
    autocomplete_fields = ("team", "created_by")
    readonly_fields = ("usage_count", "created_at")

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


# --- Customers and identities -------------------------------------------------------------------


class IdentityForm(forms.ModelForm):
    """Stores the value normalised (see tickets.identities) so the sender is recognised
    whichever way the address or number was typed."""

    class Meta:
        model = Identity
        fields = ("customer", "kind", "value", "display", "verified")

    def clean(self):
        cleaned = super().clean()
        kind, value = cleaned.get("kind"), cleaned.get("value")
        if kind and value:
            try:
                cleaned["value"] = normalize(kind, value)
            except InvalidIdentity as exc:
                self.add_error("value", str(exc))
                return cleaned
            if "display" in self.fields and not cleaned.get("display"):
                cleaned["display"] = value.strip()[:255]
        return cleaned


class IdentityInline(admin.TabularInline):
    model = Identity
    form = IdentityForm
    extra = 0
    fields = ("kind", "value", "display", "verified", "created_at")
    readonly_fields = ("created_at",)


@admin.register(Customer)
class CustomerAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name_or_id", "organization", "language", "tier", "preferred_channel", "user", "created_at")
    list_filter = ("language", "tier", "preferred_channel", "consent_marketing")
    list_select_related = ("organization", "user")
    search_fields = ("name",)
    search_help_text = _("Name, or an exact email address, phone number (+5511...) or provider id.")
    ordering = ("-id",)
    autocomplete_fields = ("organization", "user")
    readonly_fields = ("created_at", "tickets_link")
    inlines = [IdentityInline]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fieldsets = (
        (None, {"fields": ("name", "organization", "tier", "language", "time_zone", "preferred_channel", "user")}),
        (_("Consent"), {"fields": ("consent_email", "consent_sms", "consent_whatsapp", "consent_marketing")}),
        (_("More"), {"fields": ("attributes", "notes", "created_at", "tickets_link")}),
    )

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        # Identities through a subquery, not a join: no duplicates, no DISTINCT.
        identities = Identity.objects.filter(value=_identity_value(term) or term)
        by_identity = models.Q(pk__in=identities.values("customer_id"))
        if _identity_value(term):
            return queryset.filter(by_identity), False
        return queryset.filter(models.Q(name__icontains=term) | by_identity), False

    @admin.display(description=_("name"), ordering="name")
    def name_or_id(self, obj: Customer) -> str:
        return str(obj)

    @admin.display(description=_("tickets"))
    def tickets_link(self, obj: Customer) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("admin:tickets_ticket_changelist")
        return format_html('<a href="{}?requester__id__exact={}">{}</a>', url, obj.pk, _("View tickets"))


@admin.register(Identity)
class IdentityAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = IdentityForm
    list_display = ("value", "kind", "customer", "verified", "created_at")
    list_filter = ("kind", "verified")
    list_select_related = ("customer",)
    search_fields = ("=value", "display", "customer__name")
    ordering = ("-id",)
    autocomplete_fields = ("customer",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator


# --- Agents and users -----------------------------------------------------------------------------


class AgentRoleFormMixin:
    """Role changes go through `agent_set_role` (group membership and an Event); the form
    saves the other fields."""

    @staticmethod
    def hold_role(profile: AgentProfile) -> str:
        """Keep the stored role for the plain save; return the role asked for."""
        wanted = profile.role
        if profile.pk:
            profile.role = AgentProfile.objects.only("role").get(pk=profile.pk).role
        return wanted

    @staticmethod
    def apply_role(profile: AgentProfile, wanted: str, actor: Actor) -> None:
        agent_set_role(user=profile.user, role=wanted, actor=actor)
        profile.role = wanted


@admin.register(AgentProfile)
class AgentProfileAdmin(AgentRoleFormMixin, AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("user", "role", "is_available", "capacity", "language", "team_list")
    list_filter = ("role", "is_available", "teams", "language")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__first_name", "user__last_name", "user__email")
    ordering = ("user__username",)
    autocomplete_fields = ("user",)
    filter_horizontal = ("teams",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("teams")

    def has_delete_permission(self, request, obj=None):
        # Deactivate the user instead: a profile removed here would leave the role group behind.
        return False

    @admin.display(description=_("teams"))
    def team_list(self, obj: AgentProfile) -> str:
        return ", ".join(team.name for team in obj.teams.all()) or "—"

    def save_model(self, request, obj, form, change):
        wanted = self.hold_role(obj)
        if not change:
            obj.role = wanted
        super().save_model(request, obj, form, change)
        if not change or wanted != obj.role:
            self.apply_role(obj, wanted, self.audit_actor(request))


class AgentProfileInline(admin.StackedInline):
    model = AgentProfile
    can_delete = False
    max_num = 1
    extra = 0
    filter_horizontal = ("teams",)
    fields = ("role", "teams", "language", "time_zone", "signature", "is_available", "capacity")
    verbose_name_plural = _("agent profile")


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(AgentRoleFormMixin, AuditedAdminMixin, BaseUserAdmin):
    inlines = [AgentProfileInline]
    audit_exclude = ("password", "last_login")
    list_display = ("username", "email", "first_name", "last_name", "agent_role", "is_staff", "is_active")
    list_filter = ("agent_profile__role", "is_staff", "is_superuser", "is_active")
    list_select_related = ("agent_profile",)

    @admin.display(description=_("agent role"), ordering="agent_profile__role")
    def agent_role(self, obj) -> str:
        profile = getattr(obj, "agent_profile", None)
        return profile.get_role_display() if profile else "—"

    def save_formset(self, request, form, formset, change):
        if formset.model is not AgentProfile:
            return super().save_formset(request, form, formset, change)
        wanted = {}
        for profile_form in formset.forms:
            if not profile_form.has_changed():
                continue
            is_new = profile_form.instance.pk is None
            if is_new or "role" in profile_form.changed_data:
                wanted[profile_form] = (is_new, self.hold_role(profile_form.instance))
                if is_new:
                    profile_form.instance.role = wanted[profile_form][1]
        super().save_formset(request, form, formset, change)
        actor = self.audit_actor(request)
        for profile_form, (is_new, role) in wanted.items():
            profile = profile_form.instance
            if is_new or profile.role != role:
                self.apply_role(profile, role, actor)


# --- Tickets ------------------------------------------------------------------------------------


class ServiceRefused(Exception):
    """A ticket service refused the change; carries {field or None: [messages]}."""

    def __init__(self, errors: dict[str | None, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def _refusal(exc: Exception, field: str | None, fields: list[str] | tuple[str, ...] = ()) -> ServiceRefused:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        return ServiceRefused(
            {(name if name in fields else None): list(msgs) for name, msgs in exc.message_dict.items()}
        )
    if isinstance(exc, ValidationError):
        return ServiceRefused({field: list(exc.messages)})
    return ServiceRefused({None: [str(exc) or str(_("You are not allowed to make this change."))]})


def _identity_value(term: str) -> str:
    """The normalised identity a search term names (an email address or a +phone), or ""."""
    kind = IdentityKind.EMAIL if "@" in term else IdentityKind.PHONE if term.startswith("+") else ""
    if not kind:
        return ""
    try:
        return normalize(kind, term)
    except InvalidIdentity:
        return ""


class AssigneeFilter(admin.SimpleListFilter):
    """Agents only (not every user, which includes customers with a portal login)."""

    title = _("assignee")
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        agents = User.objects.filter(agent_profile__isnull=False).order_by("username")
        return [("none", _("Unassigned"))] + [(str(u.pk), u.get_full_name() or u.get_username()) for u in agents]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value and value.isdigit():
            return queryset.filter(assignee_id=int(value))
        return queryset


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ("created_at", "direction", "author", "channel", "is_internal", "delivery_status", "excerpt")
    readonly_fields = fields
    ordering = ("created_at", "id")
    verbose_name_plural = _("conversation")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author_user", "author_customer")

    @admin.display(description=_("author"))
    def author(self, obj: Message) -> str:
        return str(obj.author_user or obj.author_customer or obj.get_author_kind_display())

    @admin.display(description=_("text"))
    def excerpt(self, obj: Message) -> str:
        return _excerpt(obj.body_text, 30)


class EventInline(ReadOnlyInline):
    model = Event
    fk_name = "ticket"
    fields = ("created_at", "verb", "field", "old_value", "new_value", "actor")
    readonly_fields = fields
    ordering = ("created_at", "id")
    show_change_link = False
    verbose_name_plural = _("history")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor_user", "actor_customer")

    @admin.display(description=_("by"))
    def actor(self, obj: Event) -> str:
        return str(obj.actor_user or obj.actor_customer or obj.get_actor_kind_display())


_TIMELINE = (
    "created_at",
    "updated_at",
    "first_responded_at",
    "last_customer_message_at",
    "last_agent_message_at",
    "solved_at",
    "closed_at",
    "first_response_due_at",
    "next_response_due_at",
    "resolution_due_at",
)


class TicketAdminForm(forms.ModelForm):
    class Meta:
        model = Ticket
        fields = (
            "requester", "subject", "channel", "status", "priority", "type", "language", "organization",
            "assignee", "team", "tags", "custom_fields",
        )

    def clean_custom_fields(self):
        value = self.cleaned_data.get("custom_fields")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise ValidationError(_('Custom fields are a JSON object, e.g. {"order_number": "A-1001"}.'))
        return value


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    form = TicketAdminForm
    list_display = (
        "number", "subject", "status", "priority", "channel", "requester", "organization", "assignee", "team",
        "updated_at",
    )
    list_display_links = ("number", "subject")
    list_filter = (
        "status", "priority", "type", "channel", AssigneeFilter, "team", "language",
        ("created_at", admin.DateFieldListFilter),
    )
    list_select_related = ("requester", "organization", "assignee", "team")
    search_fields = ("subject", "requester__name")
    search_help_text = _(
        "A ticket number, words from the subject, the requester's name, or their exact email address "
        "or phone number (+5511...)."
    )
    ordering = ("-number",)
    list_per_page = 50
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    autocomplete_fields = ("requester", "organization", "assignee", "team", "tags")
    inlines = [MessageInline, EventInline]
    actions = ["mark_solved"]

    add_fieldsets = (
        (None, {"fields": ("requester", "subject", "channel", "priority", "type")}),
        (_("Routing"), {"fields": ("team", "assignee", "tags", "custom_fields")}),
    )
    change_fieldsets = (
        (None, {"fields": ("number", "subject", "status", "priority", "type", "language")}),
        (_("People"), {"fields": ("requester", "organization", "assignee", "team", "followers")}),
        (_("Tags and fields"), {"fields": ("tags", "custom_fields")}),
        (_("Origin"), {"fields": ("channel", "merged_into", "follow_up_of")}),
        (_("Timeline"), {"classes": ("collapse",), "fields": _TIMELINE}),
    )

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.change_fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("number", "requester", "followers", "channel", "merged_into", "follow_up_of", *_TIMELINE)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        # Tickets are solved, closed or merged, never deleted here: deleting one would take
        # its audit trail with it.
        return False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if term.lstrip("#").isdigit():
            return queryset.filter(number=int(term.lstrip("#"))), False
        identity = _identity_value(term)
        if identity:
            # A subquery, not a join: no duplicate rows and no DISTINCT over the whole list.
            customers = Identity.objects.filter(value=identity).values("customer_id")
            return queryset.filter(requester_id__in=customers), False
        return super().get_search_results(request, queryset, search_term)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        if obj is not None and "status" in form_class.base_fields:
            allowed = sorted(str(TicketStatus(s).label) for s in TICKET_TRANSITIONS[obj.status])
            form_class.base_fields["status"].help_text = (
                _("Can go to: %(statuses)s.") % {"statuses": ", ".join(allowed)}
                if allowed
                else _("Closed tickets are final.")
            )
        errors = getattr(request, "_ticket_service_errors", None)
        if not errors:
            return form_class

        class RefusedForm(form_class):
            def clean(self):
                cleaned = super().clean()
                for field, msgs in errors.items():
                    self.add_error(field if field in self.fields else None, msgs)
                return cleaned

        return RefusedForm

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            # The failed attempt's transaction was rolled back; show the form again with the
            # user's input and the service's explanation.
            request._ticket_service_errors = refused.errors
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        actor = Actor.agent(request.user)
        data = form.cleaned_data
        if not change:
            try:
                ticket = ticket_create(
                    requester=data["requester"],
                    subject=data["subject"],
                    channel=data["channel"],
                    priority=data["priority"],
                    type=data["type"],
                    team=data.get("team"),
                    assignee=data.get("assignee"),
                    custom_fields=data.get("custom_fields") or {},
                    actor=actor,
                )
            except (ValidationError, PermissionDenied) as exc:
                raise _refusal(exc, None, list(form.fields)) from exc
            for f in ticket._meta.concrete_fields:
                setattr(obj, f.attname, getattr(ticket, f.attname))
            obj._state.adding = False
            obj._state.db = ticket._state.db
            return

        current = Ticket.objects.get(pk=obj.pk)
        changes = {name: data[name] for name in TICKET_UPDATABLE_FIELDS if name in form.changed_data}
        if changes:
            try:
                ticket_update(ticket=current, changes=changes, actor=actor)
            except (ValidationError, PermissionDenied) as exc:
                only = next(iter(changes)) if len(changes) == 1 else ("assignee" if "assignee" in changes else None)
                raise _refusal(exc, only, list(changes)) from exc
        if "status" in form.changed_data:
            try:
                ticket_change_status(ticket=current, status=data["status"], actor=actor)
            except (ValidationError, PermissionDenied) as exc:
                raise _refusal(exc, "status") from exc
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        # Tags through their service; messages and events are read-only here.
        if "tags" in form.changed_data:
            names = [tag.name for tag in form.cleaned_data.get("tags") or []]
            try:
                ticket_tags_set(ticket=form.instance, names=names, actor=Actor.agent(request.user))
            except (ValidationError, PermissionDenied) as exc:
                raise _refusal(exc, "tags") from exc
        for formset in formsets:  # read-only: saves nothing, but the change message reads them
            self.save_formset(request, form, formset, change=change)

    @admin.action(description=_("Mark selected tickets as solved"), permissions=["change"])
    def mark_solved(self, request, queryset):
        actor = Actor.agent(request.user)
        solved, refused = 0, []
        for ticket in queryset:
            try:
                ticket_change_status(ticket=ticket, status=TicketStatus.SOLVED, actor=actor)
                solved += 1
            except (ValidationError, PermissionDenied) as exc:
                refused.append(f"#{ticket.number}: {' '.join(getattr(exc, 'messages', [str(exc)]))}")
        if solved:
            self.message_user(request, _("%(count)d tickets marked as solved.") % {"count": solved}, messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)


# --- Messages and attachments (read-only) ---------------------------------------------------------


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ("filename", "content_type", "human_size", "inline", "stored", "created_at")
    readonly_fields = fields

    @admin.display(description=_("size"))
    def human_size(self, obj: Attachment) -> str:
        return filesizeformat(obj.size)


@admin.register(Message)
class MessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id", "ticket_link", "direction", "author", "channel", "is_internal", "delivery_status", "created_at",
    )
    list_filter = (
        "channel", "direction", "author_kind", "is_internal", "delivery_status",
        ("created_at", admin.DateFieldListFilter),
    )
    list_select_related = ("ticket", "author_user", "author_customer")
    search_fields = ("=external_id",)
    search_help_text = _("A ticket number, or a provider's exact message id.")
    ordering = ("-id",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    inlines = [AttachmentInline]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().lstrip("#")
        if term.isdigit():
            return queryset.filter(ticket__number=int(term)), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("ticket"), ordering="ticket__number")
    def ticket_link(self, obj: Message) -> str:
        return _admin_link(obj.ticket, f"#{obj.ticket.number}")

    @admin.display(description=_("author"))
    def author(self, obj: Message) -> str:
        return str(obj.author_user or obj.author_customer or obj.get_author_kind_display())


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("filename", "content_type", "human_size", "stored", "message_link", "created_at")
    list_filter = ("stored", "inline", ("created_at", admin.DateFieldListFilter))
    list_select_related = ("message__ticket",)
    search_fields = ("filename", "=sha256")
    ordering = ("-id",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    @admin.display(description=_("size"), ordering="size")
    def human_size(self, obj: Attachment) -> str:
        return filesizeformat(obj.size)

    @admin.display(description=_("message"))
    def message_link(self, obj: Attachment) -> str:
        return _admin_link(obj.message, _("Message on #%(number)s") % {"number": obj.message.ticket.number})


# --- Audit log and raw payloads (read-only) -----------------------------------------------------------


class ObjectTypeFilter(admin.SimpleListFilter):
    title = _("object type")
    parameter_name = "object_type"

    def lookups(self, request, model_admin):
        return AUDITED_OBJECT_TYPES

    def queryset(self, request, queryset):
        return queryset.filter(object_type=self.value()) if self.value() else queryset


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "ticket_link", "object_label", "verb", "field", "old_short", "new_short", "actor")
    list_filter = (ObjectTypeFilter, "actor_kind", ("created_at", admin.DateFieldListFilter))
    list_select_related = ("ticket", "actor_user", "actor_customer")
    search_fields = ("=verb", "=field")
    search_help_text = _("A ticket number, or an exact verb (created, changed, assigned, ...) or field name.")
    ordering = ("-id",)
    list_per_page = 100
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().lstrip("#")
        if term.isdigit():
            return queryset.filter(ticket__number=int(term)), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("ticket"), ordering="ticket__number")
    def ticket_link(self, obj: Event) -> str:
        return _admin_link(obj.ticket, f"#{obj.ticket.number}") if obj.ticket_id else "—"

    @admin.display(description=_("object"))
    def object_label(self, obj: Event) -> str:
        return f"{obj.object_type} {obj.object_id}"

    @admin.display(description=_("old value"))
    def old_short(self, obj: Event) -> str:
        return Truncator(_json_text(obj.old_value)).chars(60) if obj.old_value is not None else ""

    @admin.display(description=_("new value"))
    def new_short(self, obj: Event) -> str:
        return Truncator(_json_text(obj.new_value)).chars(60) if obj.new_value is not None else ""

    @admin.display(description=_("by"))
    def actor(self, obj: Event) -> str:
        if obj.actor_kind == ActorKind.SYSTEM:
            return str(_("System"))
        return str(obj.actor_user or obj.actor_customer or obj.get_actor_kind_display())


def _json_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


PAYLOAD_PREVIEW_BYTES = 4096


@admin.register(RawInbound)
class RawInboundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "channel", "external_id", "status", "deliveries", "payload_size", "received_at")
    list_filter = ("channel", "status", ("received_at", admin.DateFieldListFilter))
    search_fields = ("=external_id",)
    ordering = ("-id",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fields = (
        "channel", "external_id", "content_type", "status", "error", "deliveries", "received_at", "processed_at",
        "payload_size", "payload_preview", "meta_pretty",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        # The payload can be megabytes: lists only need its size.
        return super().get_queryset(request).defer("payload").annotate(_payload_bytes=Length("payload"))

    @admin.display(description=_("payload size"), ordering="_payload_bytes")
    def payload_size(self, obj: RawInbound) -> str:
        size = getattr(obj, "_payload_bytes", None)
        if size is None:
            size = len(bytes(obj.payload or b""))
        return filesizeformat(size)

    @admin.display(description=_("payload (start, as text)"))
    def payload_preview(self, obj: RawInbound) -> str:
        raw = bytes(obj.payload or b"")
        text = raw[:PAYLOAD_PREVIEW_BYTES].decode("utf-8", errors="replace")
        more = ""
        if len(raw) > PAYLOAD_PREVIEW_BYTES:
            more = _(" … (%(rest)s more)") % {"rest": filesizeformat(len(raw) - PAYLOAD_PREVIEW_BYTES)}
        # format_html escapes the text: a payload is shown, never interpreted.
        return format_html('<pre style="white-space:pre-wrap;max-height:30em;overflow:auto">{}{}</pre>', text, more)

    @admin.display(description=_("request details"))
    def meta_pretty(self, obj: RawInbound) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.meta, indent=2, ensure_ascii=False, sort_keys=True))


@admin.register(TicketNumberCounter)
class TicketNumberCounterAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "last")

    def get_model_perms(self, request):
        # Only useful on SQLite; keep it off the admin index page.
        return {}


# Workspace rows (written by the workspace and the services; shown read-only for support).
from .models import AgentNotificationDelivery, CustomerMergeRecord, SavedView, TicketLink  # noqa: E402


@admin.register(SavedView)
class SavedViewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "owner", "team", "updated_at")
    list_select_related = ("owner", "team")


@admin.register(TicketLink)
class TicketLinkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("source", "kind", "target", "created_by", "created_at")
    list_select_related = ("source", "target", "created_by")


@admin.register(CustomerMergeRecord)
class CustomerMergeRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("target", "source_id", "merged_by", "created_at", "undone_at")
    list_select_related = ("target", "merged_by")


@admin.register(AgentNotificationDelivery)
class AgentNotificationDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("user", "kind", "event", "email_status", "email_attempts", "created_at")
    list_filter = ("kind", "email_status")
    list_select_related = ("user", "event")


# SLA calendars and policies (it reuses the mixins above, so it is imported last).
from . import admin_sla  # noqa: E402,F401
