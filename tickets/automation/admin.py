"""Triggers, automations and their webhook targets in the Django admin. Conditions and
actions are edited as JSON and checked by the same rule service as the API, so a bad field,
operator or value is refused with a message naming its place ("all[1]: unknown operator ...")."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from tickets.services.events import Actor

from .models import (
    Automation,
    AutomationApplication,
    Notification,
    Trigger,
    TriggerFiring,
    WebhookCall,
    WebhookTarget,
)
from .rules import AUTOMATION, FIELDS, TRIGGER
from .services import rule_clean, rule_create, rule_update, webhook_target_create, webhook_target_update
from .services.rulebook import RULE_FIELDS

_JSON_WIDGET = forms.Textarea(attrs={"rows": 12, "cols": 100, "style": "font-family: monospace"})


def _fields_help(kind: str) -> str:
    names = [f"{name} ({', '.join(spec[1])})" for name, spec in FIELDS.items() if kind in spec[2]]
    return str(_("Fields and operators: %(list)s.")) % {"list": "; ".join(names)}


class _RuleForm(forms.ModelForm):
    kind = TRIGGER
    conditions = forms.JSONField(label=_("conditions"), required=False, widget=_JSON_WIDGET)
    actions = forms.JSONField(
        label=_("actions"),
        widget=_JSON_WIDGET,
        help_text=_(
            "Actions: set_status, set_priority, set_team, set_assignee (value), add_tags, remove_tags (value: "
            'names), notify ("to": assignee / team_lead / user, "user", "text"), send_message ("text"), webhook '
            '("target"). Texts may use {{ ticket.number }}, {{ ticket.subject }}, {{ customer.name }}, '
            "{{ customer.first_name }}, {{ assignee.name }}, {{ team.name }}, {{ ticket.url }}."
        ),
    )

    class Meta:
        fields = ["name", "description", "is_active", "position", "conditions", "actions"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["conditions"].help_text = _fields_help(self.kind)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        values = {k: data[k] for k in ("conditions", "actions") if k in data}
        if values:
            try:
                data.update(rule_clean(kind=self.kind, values=values))
            except ValidationError as exc:
                for field, problems in exc.message_dict.items():
                    for problem in problems:
                        self.add_error(field, problem)
        return data


class TriggerForm(_RuleForm):
    kind = TRIGGER

    class Meta(_RuleForm.Meta):
        model = Trigger


class AutomationForm(_RuleForm):
    kind = AUTOMATION

    class Meta(_RuleForm.Meta):
        model = Automation


class _RuleAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "is_active", "updated_at"]
    list_editable = ["position", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "description"]
    readonly_fields = ["created_by", "created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        actor = Actor.agent(request.user)
        values = {f: form.cleaned_data[f] for f in RULE_FIELDS if f in form.cleaned_data}
        if change:
            rule_update(rule=self.model.objects.get(pk=obj.pk), changes=values, actor=actor)
        else:
            created = rule_create(model=self.model, actor=actor, **values)
            obj.pk, obj.created_at, obj.updated_at = created.pk, created.created_at, created.updated_at


@admin.register(Trigger)
class TriggerAdmin(_RuleAdmin):
    form = TriggerForm


@admin.register(Automation)
class AutomationAdmin(_RuleAdmin):
    form = AutomationForm


class WebhookTargetForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    secret = forms.CharField(
        label=_("new secret"),
        required=False,
        min_length=16,
        help_text=_("Leave empty to keep the current one (or, for a new target, to generate one)."),
    )

    class Meta:
        model = WebhookTarget
        fields = ["name", "url", "is_active"]


@admin.register(WebhookTarget)
class WebhookTargetAdmin(admin.ModelAdmin):
    form = WebhookTargetForm
    list_display = ["name", "url", "is_active", "created_at"]

    def save_model(self, request: HttpRequest, obj: WebhookTarget, form: forms.ModelForm, change: bool) -> None:
        actor = Actor.agent(request.user)
        data = form.cleaned_data
        # The URL was checked in the form (clean_url), so the services accept it.
        if change:
            webhook_target_update(
                target=WebhookTarget.objects.get(pk=obj.pk),
                actor=actor,
                name=data["name"],
                url=data["url"],
                is_active=data["is_active"],
                secret=data.get("secret") or "",
            )
            return
        target, secret = webhook_target_create(
            name=data["name"], url=data["url"], secret=data.get("secret") or "", actor=actor
        )
        obj.pk = target.pk
        messages.warning(request, format_html(_("The secret, shown only now: <code>{}</code>"), secret))

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, **kwargs)

        class Checked(form):  # type: ignore[misc, valid-type]
            def clean_url(self) -> str:
                from .services import webhook_url_check

                url = self.cleaned_data["url"]
                try:
                    webhook_url_check(url)
                except ValidationError as exc:
                    raise forms.ValidationError(" ".join(exc.messages)) from None
                return url

        return Checked


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TriggerFiring)
class TriggerFiringAdmin(_ReadOnlyAdmin):
    list_display = ["created_at", "trigger", "ticket", "outcome", "depth", "chain"]
    list_filter = ["outcome", "trigger"]
    list_select_related = ["trigger", "ticket"]
    readonly_fields = ["trigger", "ticket", "chain", "event_id", "depth", "outcome", "pretty_results", "created_at"]
    exclude = ["results"]

    @admin.display(description=_("results"))
    def pretty_results(self, obj: TriggerFiring) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.results, indent=2, ensure_ascii=False))


@admin.register(AutomationApplication)
class AutomationApplicationAdmin(_ReadOnlyAdmin):
    list_display = ["created_at", "automation", "ticket", "state_since"]
    list_filter = ["automation"]
    list_select_related = ["automation", "ticket"]


@admin.register(WebhookCall)
class WebhookCallAdmin(_ReadOnlyAdmin):
    list_display = ["created_at", "target", "ticket", "rule", "status", "attempts", "last_response_code", "last_error"]
    list_filter = ["status", "target"]
    list_select_related = ["target", "ticket"]


@admin.register(Notification)
class NotificationAdmin(_ReadOnlyAdmin):
    list_display = ["created_at", "user", "ticket", "text", "read_at"]
    list_select_related = ["user", "ticket"]
