"""/api/v1/kb/categories/ and /api/v1/kb/versions/ (registered in tickets.api.urls), built like
the articles resource in tickets.api.resources: token auth, role checks, cursor pagination."""

from __future__ import annotations

import django_filters
from django.db.models import Count, Prefetch, Q, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from tickets.api.idempotency import idempotent
from tickets.api.permissions import IsAgent
from tickets.api.schema import ERRORS, IDEMPOTENCY_KEY
from tickets.api.views import ApiViewSet

from .models import LANGUAGE_CHOICES, ArticleVersion, Category, Section
from .selectors import article_visible_qs
from .services import article_version_restore


class SectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Section
        fields = ["id", "name", "slug", "translated_names", "position"]
        read_only_fields = fields


class CategorySerializer(serializers.ModelSerializer):
    sections = SectionSerializer(many=True, read_only=True)
    article_count = serializers.IntegerField(read_only=True, help_text="Articles you may read in this category.")

    class Meta:
        model = Category
        fields = ["id", "name", "slug", "description", "translated_names", "position", "sections", "article_count"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        summary="List knowledge base categories",
        description="With their sections and how many articles you may read in each (customers: published "
        "public ones).",
        responses={200: CategorySerializer, **ERRORS},
    ),
    retrieve=extend_schema(summary="Get a category", responses={200: CategorySerializer, **ERRORS}),
)
class CategoryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = CategorySerializer
    filter_backends = [OrderingFilter]
    ordering_fields = ["position", "name", "id"]
    ordering = ["position", "name", "id"]
    http_method_names = ["get", "head", "options"]
    required_perms = {"read": None}

    def get_queryset(self) -> QuerySet[Category]:
        visible = article_visible_qs(user=self.request.user).values("id")
        return Category.objects.annotate(
            article_count=Count("articles", filter=Q(articles__in=visible), distinct=True)
        ).prefetch_related(Prefetch("sections", queryset=Section.objects.order_by("position", "name")))


class ArticleVersionSerializer(serializers.ModelSerializer):
    article = serializers.IntegerField(source="translation.article_id", read_only=True)
    language = serializers.CharField(source="translation.language", read_only=True)
    is_current = serializers.SerializerMethodField(help_text="This version is the text readers see now.")

    class Meta:
        model = ArticleVersion
        fields = ["id", "article", "language", "number", "title", "body_markdown", "author", "note", "created_at",
                  "is_current"]  # fmt: skip
        read_only_fields = fields

    def get_is_current(self, obj: ArticleVersion) -> bool:
        return obj.number == getattr(obj, "newest", obj.number)


class ArticleVersionFilterSet(django_filters.FilterSet):
    article = django_filters.NumberFilter(field_name="translation__article_id", help_text="Article id.")
    language = django_filters.ChoiceFilter(field_name="translation__language", choices=LANGUAGE_CHOICES)

    class Meta:
        model = ArticleVersion
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(
        summary="List article versions",
        description="Every saved text of every translation, newest first; `?article=<id>&language=en` for one "
        "translation's history. Agents only.",
        responses={200: ArticleVersionSerializer, **ERRORS},
    ),
    retrieve=extend_schema(summary="Get a version", responses={200: ArticleVersionSerializer, **ERRORS}),
)
class ArticleVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = ArticleVersionSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = ArticleVersionFilterSet
    ordering_fields = ["created_at", "number", "id"]
    ordering = ["-created_at", "-id"]
    http_method_names = ["get", "post", "head", "options"]
    permission_classes = [*ApiViewSet.permission_classes, IsAgent]
    required_perms = {"read": None, "restore": "kb.change_article"}

    def get_queryset(self) -> QuerySet[ArticleVersion]:
        from django.db.models import Max, OuterRef, Subquery

        newest = (
            ArticleVersion.objects.filter(translation=OuterRef("translation"))
            .values("translation")
            .annotate(n=Max("number"))
            .values("n")
        )
        visible = article_visible_qs(user=self.request.user).values("id")
        return (
            ArticleVersion.objects.filter(translation__article__in=visible)
            .select_related("translation")
            .annotate(newest=Subquery(newest))
        )

    @extend_schema(
        summary="Restore a version",
        description="Brings this text back as a new version on top (history is never rewritten). Needs "
        "`kb.change_article`.",
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: ArticleVersionSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str) -> Response:
        version = self.get_object()
        return idempotent(request, lambda: self._restore(version))

    def _restore(self, version: ArticleVersion) -> Response:
        new = article_version_restore(version=version, actor=self.actor())
        return self.rendered(ArticleVersionSerializer, self.get_queryset().get(pk=new.pk), status.HTTP_201_CREATED)
