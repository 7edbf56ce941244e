from django.contrib import admin

from .models import (
    DailyRollup,
    Goal,
    QaReview,
    QaReviewScore,
    Scorecard,
    ScorecardCriterion,
    Survey,
    WeeklyReportSent,
)


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = (
        "ticket",
        "kind",
        "score",
        "channel",
        "invitation_status",
        "invitation_channel",
        "agent",
        "team",
        "sent_at",
        "answered_at",
    )
    list_filter = ("kind", "score", "channel", "invitation_status", "team")
    search_fields = ("ticket__number", "comment")
    raw_id_fields = ("ticket", "customer", "agent", "invitation")
    readonly_fields = ("key", "sent_at", "due_at", "invited_at", "answered_at", "skip_reason")


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin):
    list_display = ("kpi", "target", "at_risk_percent", "team", "is_active")
    list_filter = ("is_active", "kpi", "team")
    list_editable = ("target", "at_risk_percent", "is_active")


class ScorecardCriterionInline(admin.TabularInline):
    model = ScorecardCriterion
    extra = 1


@admin.register(Scorecard)
class ScorecardAdmin(admin.ModelAdmin):
    list_display = ("name", "is_default", "is_active")
    inlines = [ScorecardCriterionInline]


class QaReviewScoreInline(admin.TabularInline):
    model = QaReviewScore
    extra = 0
    readonly_fields = ("criterion", "score")
    can_delete = False


@admin.register(QaReview)
class QaReviewAdmin(admin.ModelAdmin):
    list_display = ("ticket", "agent", "reviewer", "scorecard", "score", "created_at")
    list_filter = ("scorecard",)
    raw_id_fields = ("ticket", "agent", "reviewer")
    readonly_fields = ("score",)
    inlines = [QaReviewScoreInline]


@admin.register(DailyRollup)
class DailyRollupAdmin(admin.ModelAdmin):
    """Read-only: rows are written by the metrics.rollups_refresh task."""

    list_display = ("day", "gset", "team_id", "agent_id", "channel", "priority", "tag_id", "created", "solved")
    list_filter = ("gset", "channel", "priority")
    date_hierarchy = "day"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WeeklyReportSent)
class WeeklyReportSentAdmin(admin.ModelAdmin):
    """Read-only record of the weekly KPI report emails; a failed one shows its error."""

    list_display = ("week_start", "email", "language", "status", "attempts", "sent_at")
    list_filter = ("status", "week_start")
    search_fields = ("email",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
