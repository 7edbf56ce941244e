"""REST API for routing rules and team assignment settings: agents read, managers and admins
write. Register in tickets/api/urls.py:

    router.register("routing-rules", RoutingRuleViewSet, basename="routing-rule")
    router.register("team-assignments", TeamAssignmentViewSet, basename="team-assignment")
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.api.idempotency import idempotent
from tickets.api.pagination import OldestFirstCursorPagination
from tickets.api.permissions import IsAgent, TokenScopePermission
from tickets.api.schema import ERRORS, IDEMPOTENCY_KEY
from tickets.api.views import ApiViewSet
from tickets.models import Channel, Organization, Team, TicketPriority, Tier

from .models import AssignmentStrategy, RoutingRule, TagMatch, TeamAssignment
from .services import can_manage_routing, routing_rule_delete, routing_rule_save, team_assignment_save


class CanManageRouting(BasePermission):
    message = "Only managers and admins can change routing."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.method in SAFE_METHODS or can_manage_routing(request.user)


def _words() -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(max_length=100), required=False)


class RoutingRuleSerializer(serializers.ModelSerializer):
    channels = serializers.ListField(child=serializers.ChoiceField(Channel.choices), required=False)
    languages = serializers.ListField(child=serializers.ChoiceField(settings.LANGUAGES), required=False)
    tiers = serializers.ListField(child=serializers.ChoiceField(Tier.choices), required=False)
    keywords = _words()
    tags = _words()
    add_tags = _words()
    require_skills = _words()
    tags_match = serializers.ChoiceField(TagMatch.choices, required=False)
    set_priority = serializers.ChoiceField(TicketPriority.choices, required=False, allow_blank=True)
    set_team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    organizations = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all(), many=True, required=False)

    class Meta:
        model = RoutingRule
        fields = [
            "id",
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
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        # Uniqueness is checked by the service (and the database), with the one error format.
        extra_kwargs = {"name": {"validators": []}}


class TeamAssignmentSerializer(serializers.ModelSerializer):
    strategy = serializers.ChoiceField(AssignmentStrategy.choices, required=False)

    class Meta:
        model = TeamAssignment
        fields = ["id", "team", "strategy", "is_active", "chat_offer_minutes", "updated_at"]
        read_only_fields = ["id", "updated_at"]
        extra_kwargs = {"team": {"validators": []}}


class _RoutingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    permission_classes = [IsAuthenticated, TokenScopePermission, IsAgent, CanManageRouting]
    pagination_class = OldestFirstCursorPagination
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def save_object(self, obj: Any, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def create(self, request: Request) -> Response:
        return idempotent(request, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = self.save_object(None, dict(serializer.validated_data))
        return self.rendered(self.get_serializer_class(), obj, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        obj = self.get_object()
        serializer = self.get_serializer(obj, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return self.rendered(self.get_serializer_class(), self.save_object(obj, dict(serializer.validated_data)))


def _schema(name: str, serializer: type) -> Any:
    return extend_schema_view(
        list=extend_schema(summary=f"List {name}s", responses={200: serializer, **ERRORS}),
        retrieve=extend_schema(summary=f"Get a {name}", responses={200: serializer, **ERRORS}),
        create=extend_schema(
            summary=f"Create a {name}", parameters=[IDEMPOTENCY_KEY], responses={201: serializer, **ERRORS}
        ),
        partial_update=extend_schema(summary=f"Change a {name}", responses={200: serializer, **ERRORS}),
        destroy=extend_schema(summary=f"Delete a {name}", responses={204: None, **ERRORS}),
    )


@_schema("routing rule", RoutingRuleSerializer)
class RoutingRuleViewSet(_RoutingViewSet):
    """Rules tried on every new ticket by position: conditions on channel, keywords, language,
    customer tier, organization and tags; actions set team and priority, add tags, require
    skills."""

    serializer_class = RoutingRuleSerializer

    def get_queryset(self) -> QuerySet[RoutingRule]:
        return RoutingRule.objects.prefetch_related("organizations")

    def save_object(self, obj: RoutingRule | None, data: dict[str, Any]) -> RoutingRule:
        return routing_rule_save(rule=obj, data=data, actor=self.actor())

    def destroy(self, request: Request, pk: str) -> Response:
        routing_rule_delete(rule=self.get_object(), actor=self.actor())
        return Response(status=status.HTTP_204_NO_CONTENT)


@_schema("team assignment", TeamAssignmentSerializer)
class TeamAssignmentViewSet(_RoutingViewSet):
    """How each team's new tickets are assigned: none, round-robin, least-loaded or skills,
    and how long an agent has to accept a chat."""

    serializer_class = TeamAssignmentSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[TeamAssignment]:
        return TeamAssignment.objects.select_related("team")

    def save_object(self, obj: TeamAssignment | None, data: dict[str, Any]) -> TeamAssignment:
        return team_assignment_save(config=obj, data=data, actor=self.actor())
