from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from tickets.services.events import Actor

from .models import ConsentRecord, LoginFailure, PrivacyCustomer
from .services.privacy import customer_erase, customer_export


@admin.register(PrivacyCustomer)
class PrivacyCustomerAdmin(admin.ModelAdmin):
    """Customers, for privacy requests: download everything held, or erase."""

    list_display = ["id", "name", "created_at"]
    search_fields = ["name", "identities__value"]
    actions = ["export", "erase"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return super().get_actions(request) if request.user.is_superuser else {}

    @admin.action(description=_("Export everything held (zip)"))
    def export(self, request: HttpRequest, queryset: QuerySet[PrivacyCustomer]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one customer to export."), messages.ERROR)
            return None
        customer = queryset.get()
        response = HttpResponse(customer_export(customer=customer), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.zip"'
        return response

    @admin.action(description=_("Erase (anonymise) the selected customers"))
    def erase(self, request: HttpRequest, queryset: QuerySet[PrivacyCustomer]) -> HttpResponse | None:
        if request.POST.get("confirmed") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": _("Erase customers"),
                "customers": list(queryset[:100]),
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "accounts/admin/erase_confirm.html", context)
        for customer in queryset:
            customer_erase(customer=customer, actor=Actor.agent(request.user))
        self.message_user(request, _("%(n)d customers erased.") % {"n": queryset.count()}, messages.SUCCESS)
        return None


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin):
    list_display = ["customer", "channel", "granted", "source", "at"]
    list_filter = ["channel", "granted", "source"]
    raw_id_fields = ["customer", "actor_user"]
    readonly_fields = ["customer", "channel", "granted", "source", "evidence", "actor_user", "event_id", "at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    list_display = ["username", "ip_address", "stage", "at"]
    search_fields = ["username", "ip_address"]
    list_filter = ["stage"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
