from django.contrib import admin

from .models import Confirmation, Flow, FlowRun


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "keywords", "channels", "is_active", "position")
    list_filter = ("kind", "is_active")
    list_editable = ("is_active", "position")
    search_fields = ("name", "keywords")


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Confirmation)
class ConfirmationAdmin(_ReadOnly):
    list_display = ("created_at", "flow", "ticket", "customer", "channel", "subject", "state", "answered_at")
    list_filter = ("state", "flow", "channel")
    list_select_related = ("flow", "ticket", "customer")
    raw_id_fields = ("ticket", "customer", "question", "answer")


@admin.register(FlowRun)
class FlowRunAdmin(_ReadOnly):
    list_display = ("created_at", "message", "flow", "outcome", "detail")
    list_filter = ("outcome", "flow")
    list_select_related = ("flow", "message__ticket")
    raw_id_fields = ("message", "reply")
