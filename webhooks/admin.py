from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from tickets.services.events import Actor

from .models import WebhookDelivery, WebhookEventType, WebhookSubscription
from .services import webhook_delivery_redeliver, webhook_subscription_create, webhook_subscription_update


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(choices=WebhookEventType.choices, widget=forms.CheckboxSelectMultiple)
    secret = forms.CharField(
        label=_("new secret"),
        required=False,
        min_length=16,
        help_text=_("Leave empty to keep the current one (or, for a new subscription, to generate one)."),
    )

    class Meta:
        model = WebhookSubscription
        fields = ["url", "description", "event_types", "is_active"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ["url", "description", "event_types", "is_active", "failure_count", "disabled_at", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    readonly_fields = ["failure_count", "disabled_at", "disabled_reason", "created_by", "created_at", "updated_at"]
    actions = ["enable"]

    def save_model(self, request: HttpRequest, obj: WebhookSubscription, form: forms.Form, change: bool) -> None:
        data: dict[str, Any] = form.cleaned_data
        actor = Actor.agent(request.user)
        if change:
            saved = webhook_subscription_update(subscription=obj, changes=data, actor=actor)
        else:
            saved, secret = webhook_subscription_create(
                url=data["url"],
                event_types=data["event_types"],
                description=data.get("description", ""),
                secret=data.get("secret", ""),
                actor=actor,
            )
            self.message_user(
                request,
                _("Webhook signing secret: %(secret)s — copy it now, it will not be shown again.") % {"secret": secret},
                messages.WARNING,
            )
        obj.pk = saved.pk

    @admin.action(description=_("Turn on again (clears the failure count)"))
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset:
            webhook_subscription_update(
                subscription=subscription, changes={"is_active": True}, actor=Actor.agent(request.user)
            )
        self.message_user(request, _("Turned on."), messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "subscription", "event_type", "status", "attempts", "last_response_code", "created_at"]
    list_filter = ["status", "event_type"]
    search_fields = ["subscription__url", "event_type"]
    list_select_related = ["subscription"]
    actions = ["redeliver"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Redeliver (send again as a new delivery)"), permissions=["view"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = 0
        for delivery in queryset.select_related("subscription"):
            webhook_delivery_redeliver(delivery=delivery, actor=Actor.agent(request.user))
            count += 1
        self.message_user(request, _("%(count)d redeliveries queued.") % {"count": count}, messages.SUCCESS)
