"""API resources around the tickets: macros, SLA policies, business-hours calendars, knowledge
base articles, surveys and KPI metrics. Thin like tickets.api.views: parse, call a service or
selector, render. Registered in tickets.api.urls."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from kb.models import (
    LANGUAGE_CHOICES,
    Article,
    ArticleStatus,
    ArticleTranslation,
    ArticleVisibility,
    Category,
    Section,
)
from kb.selectors import article_visible_qs
from kb.services import article_create, article_status_set, article_translation_save
from metrics.models import Survey
from metrics.selectors import KPI_DEFINITIONS, KpiFilters, kpi_daily_trend, kpi_summary, kpi_volume_by_channel

from ..models import Channel, Macro, Team, Ticket, TicketPriority, Tier
from ..models_sla import BusinessCalendar, BusinessHoliday, BusinessInterval, SlaMetric, SlaPolicy, SlaTarget, Weekday
from ..selectors import macro_list_for, ticket_visibility_q
from .filters import ArticleFilterSet, BusinessCalendarFilterSet, MacroFilterSet, SlaPolicyFilterSet, SurveyFilterSet
from .idempotency import idempotent
from .permissions import IsAgent
from .schema import ERRORS, IDEMPOTENCY_KEY
from .services import (
    business_calendar_save,
    macro_create,
    macro_delete,
    macro_update,
    sla_policy_delete,
    sla_policy_save,
)
from .views import ApiViewSet

User = get_user_model()


class _ResourceViewSet(ApiViewSet):
    """Filters, ordering and cursor pagination for a resource; create/update/delete call the
    subclass's service hooks."""

    filter_backends = [DjangoFilterBackend, OrderingFilter]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    write_serializer_class: type[serializers.Serializer] | None = None

    def create_object(self, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def update_object(self, obj: Any, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def read_object(self, obj: Any) -> Any:
        return self.get_queryset().get(pk=obj.pk)

    def create(self, request: Request) -> Response:
        return idempotent(request, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        serializer = (self.write_serializer_class or self.get_serializer_class())(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        obj = self.create_object(dict(serializer.validated_data))
        return self.rendered(self.get_serializer_class(), self.read_object(obj), status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        obj = self.get_object()
        serializer = (self.write_serializer_class or self.get_serializer_class())(
            obj, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        obj = self.update_object(obj, dict(serializer.validated_data))
        return self.rendered(self.get_serializer_class(), self.read_object(obj))


def _crud_schema(
    name: str, plural: str, serializer: type, write: type | None = None, examples: list | None = None, delete=True
):
    examples = examples or []
    extra = {"destroy": extend_schema(summary=f"Delete a {name}", responses={204: None, **ERRORS})} if delete else {}
    return extend_schema_view(
        **extra,
        list=extend_schema(summary=f"List {plural}", responses={200: serializer, **ERRORS}, examples=examples),
        retrieve=extend_schema(summary=f"Get a {name}", responses={200: serializer, **ERRORS}, examples=examples),
        create=extend_schema(
            summary=f"Create a {name}",
            request=write or serializer,
            parameters=[IDEMPOTENCY_KEY],
            responses={201: serializer, **ERRORS},
            examples=examples,
        ),
        partial_update=extend_schema(
            summary=f"Change a {name}",
            description="Only the fields given change.",
            request=write or serializer,
            responses={200: serializer, **ERRORS},
            examples=examples,
        ),
    )


# --- Macros ----------------------------------------------------------------------------------------


class MacroActionSerializer(serializers.Serializer):
    field = serializers.ChoiceField(
        choices=["status", "priority", "type", "team", "assignee", "add_tags", "remove_tags"]
    )
    value = serializers.JSONField(help_text='A status, priority, team id or name, agent id, "me", or tag names.')


class MacroSerializer(serializers.ModelSerializer):
    actions = MacroActionSerializer(many=True, required=False)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True, help_text="Empty: available to every agent."
    )

    class Meta:
        model = Macro
        fields = [
            "id",
            "name",
            "description",
            "body",
            "actions",
            "team",
            "is_active",
            "usage_count",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["id", "usage_count", "created_by", "created_at"]


MACRO_EXAMPLE = OpenApiExample(
    "Refund issued",
    value={
        "name": "Refund issued",
        "description": "Confirms a refund and solves",
        "body": "Hello {{ customer.name }}, we refunded order {{ ticket.custom_fields.order_id }}.",
        "actions": [{"field": "status", "value": "solved"}, {"field": "add_tags", "value": ["refund"]}],
        "team": None,
        "is_active": True,
    },
)


@_crud_schema("macro", "macros", MacroSerializer, examples=[MACRO_EXAMPLE])
class MacroViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, _ResourceViewSet):
    """Agents read the macros available to them (everyone's and their teams'); managers and
    admins see and write all of them."""

    serializer_class = MacroSerializer
    filterset_class = MacroFilterSet
    ordering_fields = ["name", "created_at", "usage_count"]
    ordering = ["name"]
    permission_classes = [*ApiViewSet.permission_classes, IsAgent]
    required_perms = {
        "read": None,
        "create": "tickets.add_macro",
        "update": "tickets.change_macro",
        "destroy": "tickets.delete_macro",
    }

    def get_queryset(self) -> QuerySet[Macro]:
        user = self.request.user
        if user.has_perm("tickets.change_macro"):
            return Macro.objects.all()
        return macro_list_for(user=user)

    def create_object(self, data: dict[str, Any]) -> Macro:
        return macro_create(actor=self.actor(), **data)

    def update_object(self, obj: Macro, data: dict[str, Any]) -> Macro:
        return macro_update(macro=obj, changes=data, actor=self.actor())

    def read_object(self, obj: Macro) -> Macro:
        return obj

    def perform_destroy(self, instance: Macro) -> None:
        macro_delete(macro=instance, actor=self.actor())


# --- SLA policies and business hours ---------------------------------------------------------------


class SlaTargetSerializer(serializers.ModelSerializer):
    metric = serializers.ChoiceField(choices=SlaMetric.choices)
    priority = serializers.ChoiceField(
        choices=TicketPriority.choices, required=False, allow_blank=True, default="", help_text="Empty: any."
    )
    minutes = serializers.IntegerField(min_value=1, max_value=525600)

    class Meta:
        model = SlaTarget
        fields = ["metric", "priority", "minutes", "business_hours"]


class SlaPolicySerializer(serializers.ModelSerializer):
    priorities = serializers.ListField(child=serializers.ChoiceField(choices=TicketPriority.choices), required=False)
    tiers = serializers.ListField(child=serializers.ChoiceField(choices=Tier.choices), required=False)
    channels = serializers.ListField(child=serializers.ChoiceField(choices=Channel.choices), required=False)
    targets = SlaTargetSerializer(many=True, required=False, help_text="When given: the complete list of targets.")
    breach_reassign_to = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(agent_profile__isnull=False), required=False, allow_null=True
    )
    position = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False)
    warn_before_minutes = serializers.IntegerField(min_value=0, max_value=525600, required=False)

    class Meta:
        model = SlaPolicy
        fields = [
            "id",
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
            "targets",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]


SLA_POLICY_EXAMPLE = OpenApiExample(
    "Premium customers",
    value={
        "name": "Premium",
        "position": 10,
        "tiers": ["premium", "enterprise"],
        "calendar": 1,
        "warn_before_minutes": 30,
        "targets": [
            {"metric": "first_response", "priority": "urgent", "minutes": 30, "business_hours": False},
            {"metric": "first_response", "priority": "", "minutes": 120, "business_hours": True},
            {"metric": "resolution", "priority": "", "minutes": 1440, "business_hours": True},
        ],
    },
)


@_crud_schema("SLA policy", "SLA policies", SlaPolicySerializer, examples=[SLA_POLICY_EXAMPLE])
class SlaPolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, _ResourceViewSet):
    """Agents read; managers and admins write. After a change the SLA of every unsolved ticket
    is re-applied (in the background)."""

    serializer_class = SlaPolicySerializer
    filterset_class = SlaPolicyFilterSet
    ordering_fields = ["position", "name", "created_at"]
    ordering = ["position", "id"]
    permission_classes = [*ApiViewSet.permission_classes, IsAgent]
    required_perms = {
        "read": None,
        "create": "tickets.add_slapolicy",
        "update": "tickets.change_slapolicy",
        "destroy": "tickets.delete_slapolicy",
    }

    def get_queryset(self) -> QuerySet[SlaPolicy]:
        return SlaPolicy.objects.prefetch_related("targets", "organizations", "teams")

    def create_object(self, data: dict[str, Any]) -> SlaPolicy:
        return sla_policy_save(actor=self.actor(), data=data)

    def update_object(self, obj: SlaPolicy, data: dict[str, Any]) -> SlaPolicy:
        return sla_policy_save(actor=self.actor(), policy=obj, data=data)

    def perform_destroy(self, instance: SlaPolicy) -> None:
        sla_policy_delete(policy=instance, actor=self.actor())


class BusinessIntervalSerializer(serializers.ModelSerializer):
    weekday = serializers.ChoiceField(choices=Weekday.choices, help_text="0 Monday ... 6 Sunday.")

    class Meta:
        model = BusinessInterval
        fields = ["weekday", "start_time", "end_time"]


class BusinessHolidaySerializer(serializers.ModelSerializer):
    class Meta:
        model = BusinessHoliday
        fields = ["date", "name"]


class BusinessCalendarSerializer(serializers.ModelSerializer):
    intervals = BusinessIntervalSerializer(many=True, required=False, help_text="When given: the complete week.")
    holidays = BusinessHolidaySerializer(many=True, required=False, help_text="When given: all the own days off.")

    class Meta:
        model = BusinessCalendar
        fields = [
            "id",
            "name",
            "time_zone",
            "holiday_country",
            "holiday_subdivision",
            "intervals",
            "holidays",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]


CALENDAR_EXAMPLE = OpenApiExample(
    "Berlin office",
    value={
        "name": "Berlin office",
        "time_zone": "Europe/Berlin",
        "holiday_country": "DE",
        "holiday_subdivision": "BE",
        "intervals": [{"weekday": d, "start_time": "09:00", "end_time": "17:00"} for d in range(5)],
        "holidays": [{"date": "2026-12-24", "name": "Christmas Eve"}],
    },
)


@_crud_schema(
    "business hours calendar",
    "business hours calendars",
    BusinessCalendarSerializer,
    examples=[CALENDAR_EXAMPLE],
    delete=False,
)
class BusinessCalendarViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _ResourceViewSet):
    serializer_class = BusinessCalendarSerializer
    filterset_class = BusinessCalendarFilterSet
    ordering_fields = ["name", "created_at"]
    ordering = ["name"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    permission_classes = [*ApiViewSet.permission_classes, IsAgent]
    required_perms = {
        "read": None,
        "create": "tickets.add_businesscalendar",
        "update": "tickets.change_businesscalendar",
    }

    def get_queryset(self) -> QuerySet[BusinessCalendar]:
        return BusinessCalendar.objects.prefetch_related("intervals", "holidays")

    def create_object(self, data: dict[str, Any]) -> BusinessCalendar:
        return business_calendar_save(actor=self.actor(), data=data)

    def update_object(self, obj: BusinessCalendar, data: dict[str, Any]) -> BusinessCalendar:
        return business_calendar_save(actor=self.actor(), calendar=obj, data=data)


# --- Knowledge base articles -------------------------------------------------------------------------


class ArticleTranslationSerializer(serializers.ModelSerializer):
    class Meta:
        model = ArticleTranslation
        fields = ["language", "title", "summary", "body_markdown", "body_html", "updated_at"]
        read_only_fields = fields


class ArticleSerializer(serializers.ModelSerializer):
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    translations = ArticleTranslationSerializer(many=True, read_only=True)

    class Meta:
        model = Article
        fields = [
            "id",
            "slug",
            "category",
            "section",
            "status",
            "visibility",
            "tags",
            "position",
            "author",
            "translations",
            "created_at",
            "updated_at",
            "published_at",
        ]
        read_only_fields = fields


class ArticleCreateSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=160)
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all())
    section = serializers.PrimaryKeyRelatedField(queryset=Section.objects.all(), required=False, allow_null=True)
    visibility = serializers.ChoiceField(choices=ArticleVisibility.choices, default=ArticleVisibility.PUBLIC)
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)
    language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, default="en")
    title = serializers.CharField(max_length=200)
    summary = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    body_markdown = serializers.CharField(allow_blank=True, default="")
    status = serializers.ChoiceField(
        choices=ArticleStatus.choices, default=ArticleStatus.DRAFT, help_text="`published` publishes at once."
    )

    def validate_slug(self, value: str) -> str:
        if Article.objects.filter(slug=value).exists():
            raise serializers.ValidationError("An article with this slug already exists.")
        return value


class ArticleUpdateSerializer(serializers.Serializer):
    language = serializers.ChoiceField(
        choices=LANGUAGE_CHOICES, default="en", help_text="Which translation title/summary/body change (or create)."
    )
    title = serializers.CharField(max_length=200, required=False)
    summary = serializers.CharField(max_length=300, required=False, allow_blank=True)
    body_markdown = serializers.CharField(required=False, allow_blank=True)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(choices=ArticleStatus.choices, required=False)


ARTICLE_EXAMPLES = [
    OpenApiExample(
        "New article, published",
        value={
            "slug": "reset-password",
            "category": 1,
            "title": "Resetting your password",
            "body_markdown": "1. Open **Settings**\n2. Choose *Reset password*",
            "tags": ["account"],
            "status": "published",
        },
        request_only=True,
    ),
    OpenApiExample(
        "Translate into Portuguese",
        value={"language": "pt-br", "title": "Como redefinir a senha", "body_markdown": "1. Abra **Configurações**"},
        request_only=True,
    ),
]


@extend_schema_view(
    list=extend_schema(
        summary="List knowledge base articles",
        description="Agents see every article; customers only published, public ones.",
        responses={200: ArticleSerializer, **ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get an article with its translations", responses={200: ArticleSerializer, **ERRORS}
    ),
    create=extend_schema(
        summary="Create an article",
        description="Needs `kb.add_article` (managers and admins).",
        request=ArticleCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: ArticleSerializer, **ERRORS},
        examples=ARTICLE_EXAMPLES[:1],
    ),
    partial_update=extend_schema(
        summary="Change an article's text or status",
        description="Saves the translation in `language` (every change of text is kept as a version) and/or "
        "sets `status`. Needs `kb.change_article`.",
        request=ArticleUpdateSerializer,
        responses={200: ArticleSerializer, **ERRORS},
        examples=ARTICLE_EXAMPLES[1:],
    ),
)
class ArticleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _ResourceViewSet):
    serializer_class = ArticleSerializer
    filterset_class = ArticleFilterSet
    ordering_fields = ["position", "slug", "created_at", "updated_at"]
    ordering = ["position", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    required_perms = {"read": None, "create": "kb.add_article", "update": "kb.change_article"}

    def get_queryset(self) -> QuerySet[Article]:
        return article_visible_qs(user=self.request.user).prefetch_related("tags", "translations")

    def create(self, request: Request) -> Response:
        return idempotent(request, lambda: self._create_article(request))

    def _create_article(self, request: Request) -> Response:
        serializer = ArticleCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        status_wanted = data.pop("status")
        actor = self.actor()
        with transaction.atomic():
            article = article_create(actor=actor, **data)
            if status_wanted != ArticleStatus.DRAFT:
                article_status_set(article=article, status=status_wanted, actor=actor)
        return self.rendered(ArticleSerializer, self.get_queryset().get(pk=article.pk), status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        article = self.get_object()
        serializer = ArticleUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        actor = self.actor()
        with transaction.atomic():
            if {"title", "summary", "body_markdown"} & set(data):
                current = article.translations.filter(language=data["language"]).first()
                title = data.get("title") or (current.title if current else "")
                if not title:
                    raise serializers.ValidationError({"title": ["A new translation needs a title."]})
                article_translation_save(
                    article=article,
                    language=data["language"],
                    title=title,
                    body_markdown=data.get("body_markdown", current.body_markdown if current else ""),
                    summary=data.get("summary"),
                    note=data.get("note", ""),
                    actor=actor,
                )
            if "status" in data:
                article_status_set(article=article, status=data["status"], actor=actor)
        return self.rendered(ArticleSerializer, self.get_queryset().get(pk=article.pk))


# --- Surveys -------------------------------------------------------------------------------------------


class SurveySerializer(serializers.ModelSerializer):
    ticket = serializers.IntegerField(source="ticket.number", read_only=True, help_text="Ticket number.")

    class Meta:
        model = Survey
        fields = [
            "id",
            "ticket",
            "customer",
            "kind",
            "channel",
            "agent",
            "team",
            "sent_at",
            "answered_at",
            "score",
            "comment",
        ]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        summary="List survey responses",
        description="CSAT / CES surveys of tickets you may see, newest first. Agent, team and channel are as "
        "they were when the survey was sent. `?answered=true` for answers only.",
        responses={200: SurveySerializer, **ERRORS},
    ),
    retrieve=extend_schema(summary="Get a survey", responses={200: SurveySerializer, **ERRORS}),
)
class SurveyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _ResourceViewSet):
    serializer_class = SurveySerializer
    filterset_class = SurveyFilterSet
    ordering_fields = ["sent_at", "answered_at", "score", "id"]
    ordering = ["-sent_at", "-id"]
    http_method_names = ["get", "head", "options"]
    permission_classes = [*ApiViewSet.permission_classes, IsAgent]

    def get_queryset(self) -> QuerySet[Survey]:
        visible = Ticket.objects.filter(ticket_visibility_q(self.request.user)).values("pk")
        return Survey.objects.filter(ticket__in=visible).select_related("ticket")


# --- Metrics -------------------------------------------------------------------------------------------


class MetricsQuerySerializer(serializers.Serializer):
    date_from = serializers.DateField(required=False, help_text="First day (inclusive); default 29 days ago.")
    date_to = serializers.DateField(required=False, help_text="Last day (inclusive); default today.")
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False)
    agent = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    priority = serializers.ChoiceField(choices=TicketPriority.choices, required=False)
    tag = serializers.CharField(max_length=64, required=False)

    MAX_DAYS = 366

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        today = timezone.localdate()
        attrs["date_to"] = attrs.get("date_to") or today
        attrs["date_from"] = attrs.get("date_from") or attrs["date_to"] - dt.timedelta(days=29)
        if attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_from": ["The range starts after it ends."]})
        if (attrs["date_to"] - attrs["date_from"]).days >= self.MAX_DAYS:
            raise serializers.ValidationError({"date_from": [f"At most {self.MAX_DAYS} days at a time."]})
        return attrs


METRICS_EXAMPLE = OpenApiExample(
    "Last week, billing team",
    value={
        "filters": {
            "date_from": "2026-03-02",
            "date_to": "2026-03-08",
            "team": 2,
            "agent": None,
            "channel": "",
            "priority": "",
            "tag": "",
        },
        "summary": {
            "created": 120,
            "solved": 98,
            "frt": {"count": 110, "median_hours": 1.5, "average_hours": 2.1},
            "resolution": {"count": 98, "median_hours": 20.0, "average_hours": 26.4},
            "csat_answered": 40,
            "csat": 92.5,
            "backlog_total": 31,
        },
        "volume_by_channel": [{"channel": "email", "count": 70}, {"channel": "chat", "count": 50}],
        "daily": [{"day": "2026-03-02", "created": 20, "solved": 15}],
        "definitions": {"frt": "First response time: ..."},
    },
    response_only=True,
)


@extend_schema_view(
    list=extend_schema(
        summary="KPIs for a date range",
        description="The dashboard's figures (tickets created and solved, first response and resolution "
        "times, CSAT, CES, backlog, volume by channel, a daily trend) over tickets created in the range, "
        "narrowed by team, agent, channel, priority and tag. For managers and admins.",
        parameters=[MetricsQuerySerializer],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="The figures"), **ERRORS},
        examples=[METRICS_EXAMPLE],
    )
)
class MetricsViewSet(ApiViewSet):
    pagination_class = None
    queryset = Ticket.objects.none()  # only for the schema generator: the figures come from metrics.selectors
    required_perms = {"read": "tickets.view_all_tickets"}

    def list(self, request: Request) -> Response:
        query = MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        filters = KpiFilters(
            date_from=data["date_from"],
            date_to=data["date_to"],
            team_id=data["team"].pk if data.get("team") else None,
            agent_id=data["agent"].pk if data.get("agent") else None,
            channel=data.get("channel", ""),
            priority=data.get("priority", ""),
            **({"tag": data["tag"]} if data.get("tag") and _filters_have("tag") else {}),
        )
        user = request.user
        summary = kpi_summary(user=user, filters=filters)
        return Response(
            {
                "filters": {
                    "date_from": filters.date_from,
                    "date_to": filters.date_to,
                    "team": filters.team_id,
                    "agent": filters.agent_id,
                    "channel": filters.channel,
                    "priority": filters.priority,
                    "tag": getattr(filters, "tag", ""),
                },
                "summary": dataclasses.asdict(summary),
                "volume_by_channel": kpi_volume_by_channel(user=user, filters=filters),
                "daily": kpi_daily_trend(user=user, filters=filters),
                "definitions": KPI_DEFINITIONS,
            }
        )


def _filters_have(name: str) -> bool:
    return name in {f.name for f in dataclasses.fields(KpiFilters)}
