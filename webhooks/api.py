"""/api/v1/webhooks/: subscriptions (admins and managers), their delivery log, redelivery.

The same conventions as tickets.api: token auth, read/write scopes, throttling, cursor
pagination and the one error format. A subscription's secret is returned once, in the answer
to the create request (or to a secret change), never afterwards."""

from __future__ import annotations

from typing import Any

from django.core.validators import URLValidator
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.api.schema import ERRORS
from tickets.api.views import ApiViewSet
from tickets.models import AgentRole

from .models import WebhookDelivery, WebhookEventType, WebhookSubscription
from .services import (
    webhook_delivery_redeliver,
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_update,
)


class CanManageWebhooks(BasePermission):
    """Webhooks send help desk data out of the building: admins and managers only."""

    message = "Only admins and managers can manage webhooks."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if getattr(user, "is_superuser", False):
            return True
        profile = getattr(user, "agent_profile", None)
        return profile is not None and profile.role in (AgentRole.ADMIN, AgentRole.MANAGER)


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEventType.choices))

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "is_active",
            "failure_count",
            "disabled_at",
            "disabled_reason",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    secret = serializers.SerializerMethodField(help_text="Shown only in this response: keep it now.")

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields

    def get_secret(self, obj: Any) -> str:
        return self.context["secret"]


class WebhookSubscriptionWriteSerializer(serializers.Serializer):
    url = serializers.CharField(
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"], message="Enter an http:// or https:// URL.")],
    )
    description = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices), allow_empty=False
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        min_length=16,
        max_length=200,
        help_text="Optional; one is generated when left out. Returned once, never again.",
    )
    is_active = serializers.BooleanField(required=False, help_text="Turn a disabled subscription back on.")


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "subscription",
            "event_type",
            "event_id",
            "payload",
            "status",
            "attempts",
            "next_attempt_at",
            "last_response_code",
            "last_response_body",
            "last_error",
            "redelivery_of",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields


class WebhookApiViewSet(ApiViewSet):
    permission_classes = [*ApiViewSet.permission_classes, CanManageWebhooks]


@extend_schema_view(
    list=extend_schema(summary="List webhook subscriptions", responses={200: WebhookSubscriptionSerializer, **ERRORS}),
    retrieve=extend_schema(
        summary="Get a webhook subscription", responses={200: WebhookSubscriptionSerializer, **ERRORS}
    ),
    destroy=extend_schema(summary="Delete a webhook subscription", responses={204: None, **ERRORS}),
)
class WebhookSubscriptionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, WebhookApiViewSet
):
    serializer_class = WebhookSubscriptionSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[WebhookSubscription]:
        return WebhookSubscription.objects.all()

    def _answer(self, subscription: WebhookSubscription, secret: str | None, code: int) -> Response:
        if secret is None:
            return Response(WebhookSubscriptionSerializer(subscription).data, status=code)
        return Response(
            WebhookSubscriptionCreatedSerializer(subscription, context={"secret": secret}).data, status=code
        )

    @extend_schema(
        summary="Subscribe a URL to events",
        description="The answer carries the signing `secret` once; it is never shown again.",
        request=WebhookSubscriptionWriteSerializer,
        responses={201: WebhookSubscriptionCreatedSerializer, **ERRORS},
    )
    def create(self, request: Request) -> Response:
        serializer = WebhookSubscriptionWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subscription, secret = webhook_subscription_create(
            url=data["url"],
            event_types=data["event_types"],
            description=data.get("description", ""),
            secret=data.get("secret", ""),
            actor=self.actor(),
        )
        return self._answer(subscription, secret, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a webhook subscription",
        description="Only the fields given change. `is_active: true` turns a disabled subscription back on. "
        "A new `secret` is echoed once in this answer.",
        request=WebhookSubscriptionWriteSerializer(partial=True),
        responses={200: WebhookSubscriptionSerializer, **ERRORS},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        subscription = self.get_object()
        serializer = WebhookSubscriptionWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        subscription = webhook_subscription_update(subscription=subscription, changes=changes, actor=self.actor())
        return self._answer(subscription, changes.get("secret"), status.HTTP_200_OK)

    def perform_destroy(self, instance: WebhookSubscription) -> None:
        webhook_subscription_delete(subscription=instance, actor=self.actor())


@extend_schema_view(
    list=extend_schema(summary="A subscription's delivery log", responses={200: WebhookDeliverySerializer, **ERRORS}),
    retrieve=extend_schema(summary="Get one delivery", responses={200: WebhookDeliverySerializer, **ERRORS}),
)
class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WebhookApiViewSet):
    serializer_class = WebhookDeliverySerializer

    def subscription(self) -> WebhookSubscription:
        return get_object_or_404(WebhookSubscription, pk=self.kwargs["subscription_pk"])

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        return WebhookDelivery.objects.filter(subscription=self.subscription())

    @extend_schema(
        summary="Send a delivery again",
        description="Creates a new delivery with the same payload (and a fresh signature), sent right away.",
        request=None,
        responses={202: WebhookDeliverySerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def redeliver(self, request: Request, subscription_pk: str, pk: str) -> Response:
        again = webhook_delivery_redeliver(delivery=self.get_object(), actor=self.actor())
        again.refresh_from_db()
        return Response(WebhookDeliverySerializer(again).data, status=status.HTTP_202_ACCEPTED)
