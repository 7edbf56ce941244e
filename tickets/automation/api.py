"""/api/v1/triggers/, /api/v1/automations/ and /api/v1/rule-webhook-targets/.

The conventions of tickets.api (token or session auth, read/write token scopes, throttling,
cursor pagination, the one error format). Agents read rules; admins and managers write
them. Conditions and actions are checked by the same service as the admin, and a mistake is
a 400 naming the place: ``{"error": {"fields": {"conditions": ["all[0]: unknown operator ..."]}}}``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.api.idempotency import idempotent
from tickets.api.pagination import OldestFirstCursorPagination
from tickets.api.permissions import IsAgent
from tickets.api.schema import ERRORS
from tickets.api.views import ApiViewSet
from tickets.models import AgentRole

from .models import Automation, Rule, Trigger, WebhookTarget
from .selectors import automation_list, trigger_list
from .services import rule_create, rule_delete, rule_update, webhook_target_create, webhook_target_update


def can_manage_rules(user: Any) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    profile = getattr(user, "agent_profile", None)
    return profile is not None and profile.role in (AgentRole.ADMIN, AgentRole.MANAGER)


class ManagersWrite(BasePermission):
    """Every agent may read the rules (to understand what happened to a ticket); only admins
    and managers may change them."""

    message = "Only admins and managers can change triggers and automations."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.method in SAFE_METHODS or can_manage_rules(request.user)


class ManagersOnly(BasePermission):
    message = "Only admins and managers can manage rule webhook targets."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return can_manage_rules(request.user)


class RuleSerializer(serializers.ModelSerializer):
    conditions = serializers.JSONField(
        required=False,
        help_text='{"all": [...], "any": [...]}; each condition {"field", "operator", "value"}.',
    )
    actions = serializers.JSONField(help_text='A list such as [{"action": "set_status", "value": "open"}].')

    class Meta:
        model = Trigger
        fields = [
            "id",
            "name",
            "description",
            "is_active",
            "position",
            "conditions",
            "actions",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_by", "created_at", "updated_at"]


class AutomationSerializer(RuleSerializer):
    class Meta(RuleSerializer.Meta):
        model = Automation


class _RuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, ApiViewSet):
    permission_classes = [*ApiViewSet.permission_classes, IsAgent, ManagersWrite]
    pagination_class = OldestFirstCursorPagination
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    model: type[Rule]

    def create(self, request: Request) -> Response:
        return idempotent(request, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = rule_create(model=self.model, actor=self.actor(), **serializer.validated_data)
        return self.rendered(self.get_serializer_class(), rule, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        rule = self.get_object()
        serializer = self.get_serializer(rule, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        rule = rule_update(rule=rule, changes=dict(serializer.validated_data), actor=self.actor())
        return self.rendered(self.get_serializer_class(), rule)

    def perform_destroy(self, instance: Rule) -> None:
        rule_delete(rule=instance, actor=self.actor())


def _rule_schema(name: str, serializer: type) -> Any:
    return extend_schema_view(
        list=extend_schema(summary=f"List {name}s", responses={200: serializer, **ERRORS}),
        retrieve=extend_schema(summary=f"Get a {name}", responses={200: serializer, **ERRORS}),
        create=extend_schema(summary=f"Create a {name}", responses={201: serializer, **ERRORS}),
        partial_update=extend_schema(summary=f"Change a {name}", responses={200: serializer, **ERRORS}),
        destroy=extend_schema(summary=f"Delete a {name}", responses={204: None, **ERRORS}),
    )


@_rule_schema("trigger", RuleSerializer)
class TriggerViewSet(_RuleViewSet):
    """Event-based rules, run in `position` order when a ticket is created or updated or a
    customer or agent replies."""

    serializer_class = RuleSerializer
    model = Trigger

    def get_queryset(self) -> QuerySet[Trigger]:
        return trigger_list()


@_rule_schema("automation", AutomationSerializer)
class AutomationViewSet(_RuleViewSet):
    """Time-based rules, run by the hourly sweep; at least one hours_since_... condition."""

    serializer_class = AutomationSerializer
    model = Automation

    def get_queryset(self) -> QuerySet[Automation]:
        return automation_list()


class WebhookTargetSerializer(serializers.ModelSerializer):
    secret = serializers.CharField(
        write_only=True,
        required=False,
        min_length=16,
        max_length=200,
        help_text="Optional; one is generated when left out. Returned once, in the create answer.",
    )

    class Meta:
        model = WebhookTarget
        fields = ["id", "name", "url", "is_active", "secret", "created_at"]
        read_only_fields = ["id", "created_at"]


class WebhookTargetCreatedSerializer(WebhookTargetSerializer):
    secret = serializers.SerializerMethodField(help_text="Shown only in this response: keep it now.")

    class Meta(WebhookTargetSerializer.Meta):
        fields = [*WebhookTargetSerializer.Meta.fields]

    def get_secret(self, obj: Any) -> str:
        return self.context["secret"]


@extend_schema_view(
    list=extend_schema(summary="List rule webhook targets", responses={200: WebhookTargetSerializer, **ERRORS}),
    retrieve=extend_schema(summary="Get a rule webhook target", responses={200: WebhookTargetSerializer, **ERRORS}),
    create=extend_schema(
        summary="Create a rule webhook target", responses={201: WebhookTargetCreatedSerializer, **ERRORS}
    ),
    partial_update=extend_schema(
        summary="Change a rule webhook target", responses={200: WebhookTargetSerializer, **ERRORS}
    ),
)
class WebhookTargetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Where a rule's `webhook` action posts (by id: {"action": "webhook", "target": 3})."""

    serializer_class = WebhookTargetSerializer
    permission_classes = [*ApiViewSet.permission_classes, ManagersOnly]
    pagination_class = OldestFirstCursorPagination
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = WebhookTarget.objects.all()

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target, secret = webhook_target_create(actor=self.actor(), **serializer.validated_data)
        data = WebhookTargetCreatedSerializer(target, context={**self.get_serializer_context(), "secret": secret}).data
        return Response(data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        target = self.get_object()
        serializer = self.get_serializer(target, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        target = webhook_target_update(target=target, actor=self.actor(), **serializer.validated_data)
        return self.rendered(WebhookTargetSerializer, target)
