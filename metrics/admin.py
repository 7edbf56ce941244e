from django.contrib import admin

from .models import Survey


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ("ticket", "kind", "score", "channel", "agent", "team", "sent_at", "answered_at")
    list_filter = ("kind", "score", "channel", "team")
    search_fields = ("ticket__number", "comment")
    raw_id_fields = ("ticket", "customer", "agent")
    readonly_fields = ("key", "sent_at", "answered_at")
