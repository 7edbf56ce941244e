from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Call, IvrOption


@admin.register(IvrOption)
class IvrOptionAdmin(admin.ModelAdmin):
    list_display = ("digit", "label", "team", "forward_to", "position", "is_active")
    list_editable = ("position", "is_active")
    list_select_related = ("team",)
    ordering = ("position", "digit")


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ("created_at", "direction", "from_number", "to_number", "status", "answered", "ticket", "team")
    list_filter = ("direction", "status", "answered", "callback_requested")
    list_select_related = ("ticket", "team")
    search_fields = ("call_sid", "from_number", "to_number")
    readonly_fields = [field.name for field in Call._meta.fields]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description=_("ticket"))
    def ticket_number(self, obj: Call) -> str:
        return f"#{obj.ticket.number}" if obj.ticket else ""
